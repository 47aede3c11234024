# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sphinx configuration of the dataplane.node docsite (built by docs/sphinx/build.sh, `make docs`).

Started from `antsibull-docs sphinx-init`; no intersphinx inventories, so the site builds offline.
"""

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
