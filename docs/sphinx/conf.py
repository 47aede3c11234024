# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sphinx configuration of the dataplane.node docsite (built by docs/sphinx/build.sh, `make docs`).

Started from `antsibull-docs sphinx-init`; no intersphinx inventories, so the site builds offline.
"""

import re

from docutils import nodes

project = 'dataplane.node'
copyright = '2026, dataplane.node contributors'  # pylint: disable=redefined-builtin
title = 'dataplane.node documentation'
html_short_title = 'dataplane.node'

extensions = ['sphinx_antsibull_ext']
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
html_theme_options = {'documentation_home_url': 'index.html', 'topbar_links': {}, 'swift_id': None}

default_role = 'any'
nitpicky = True


# Plugin pages of other collections (M(kubernetes.core.k8s_drain), ...) are not part of this site: without
# intersphinx (offline) their labels would be broken references, so they link to the published pages instead.
_OTHER_COLLECTION = re.compile(r'^ansible_collections\.([a-z0-9_]+)\.([a-z0-9_]+)\.([a-z0-9_]+?)(?:__.*)?$')


def _link_other_collections(app, env, node, contnode):  # pylint: disable=unused-argument
    match = _OTHER_COLLECTION.match(node.get('reftarget') or '')
    if not match or match.group(1, 2) == ('dataplane', 'node'):
        return None
    url = 'https://docs.ansible.com/ansible/latest/collections/%s/%s/%s.html' % match.group(1, 2, 3)
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode.deepcopy())
    return reference


def setup(app):
    app.connect('missing-reference', _link_other_collections)
