# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML node report opened in headless Chromium (Debian's chromium package): the DOM Chromium builds from the
file is read back and checked for what a reader sees (hosts, NUMA panels, pools, NICs, findings), and a screenshot
is taken. Rendered for real facts: this machine (read through the host model at /), the captured QEMU testbed guest,
the 2-socket server tree, and through the report playbook itself on localhost. Skipped when chromium is missing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import socket
import struct
import subprocess
import sys

try:
    from html.parser import HTMLParser
except ImportError:  # pragma: no cover
    HTMLParser = object

import pytest

from ansible_collections.dataplane.node.plugins.module_utils._facts import SUBSETS, gather
from ansible_collections.dataplane.node.plugins.module_utils._host import Host
from ansible_collections.dataplane.node.plugins.module_utils._html_report import render_page
from ansible_collections.dataplane.node.plugins.module_utils._locality import plan

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (apt-get install chromium)')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run',
         '--disable-dev-shm-usage']


def chromium(*args):
    proc = subprocess.run([CHROMIUM] + FLAGS + list(args), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class ReportDom(HTMLParser):
    """What the page shows, per host section: its text, NUMA panels with pools and NICs, findings, fleet rows."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.hosts = {}
        self.rows = {}
        self._host = self._panel = self._finding = self._row = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'section' and 'data-host' in attrs:
            self._host = self.hosts.setdefault(attrs['data-host'], {'text': [], 'panels': {}, 'findings': []})
        elif tag == 'tr' and 'data-host' in attrs:
            self._row = self.rows.setdefault(attrs['data-host'], [])
        elif self._host is not None and 'data-numa-node' in attrs:
            self._panel = self._host['panels'].setdefault(attrs['data-numa-node'], {'pools': {}, 'nics': []})
        elif self._panel is not None and 'data-pool' in attrs:
            self._panel['pools'][attrs['data-pool']] = int(attrs['data-nr'])
        elif self._panel is not None and 'data-nic' in attrs:
            self._panel['nics'].append(attrs['data-nic'])
        elif self._host is not None and 'data-level' in attrs:
            self._finding = [attrs['data-level'], '']
            self._host['findings'].append(self._finding)

    def handle_endtag(self, tag):
        if tag == 'section':
            self._host = self._panel = None
        elif tag == 'tr':
            self._row = None
        elif tag == 'li':
            self._finding = None

    def handle_data(self, data):
        if self._host is not None:
            self._host['text'].append(data)
        if self._finding is not None:
            self._finding[1] += data
        if self._row is not None and data.strip():
            self._row.append(data.strip())


def open_in_chromium(path):
    dom = ReportDom()
    dom.feed(chromium('--dump-dom', 'file://%s' % path))
    return dom


def png_size(path):
    with open(path, 'rb') as handle:
        head = handle.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n'
    return struct.unpack('>II', head[16:24])


@pytest.fixture(scope='module')
def page(tmp_path_factory, host_root_module):
    server = gather(Host(host_root_module('server2s')), SUBSETS)
    qemu = gather(Host(host_root_module('qemu-igb')), SUBSETS)
    here = gather(Host('/'), SUBSETS)
    hosts = [
        {'name': socket.gethostname(), 'facts': here},
        {'name': 'qemu-testbed', 'facts': qemu},
        {'name': 'server2s', 'facts': server,
         'plan': plan(server, {'sriov_pfs': [{'pf': '0000:af:00.0', 'numvfs': 4, 'vfio_vfs': [2, 3]}],
                               'kernel_cmdline_iommu': 'on',
                               'hugepages_pools': [{'size': '2M', 'nodes': {0: 512, 1: 600}}]})},
    ]
    path = tmp_path_factory.mktemp('report') / 'report.html'
    path.write_text(render_page(hosts, generated='test'))
    return {'path': str(path), 'facts': dict((h['name'], h['facts']) for h in hosts)}


@pytest.fixture(scope='module')
def host_root_module(tmp_path_factory):
    import hosttree
    import synthhost
    fixtures = os.path.join(REPO, 'tests', 'fixtures', 'hosts')

    def make(name):
        dest = str(tmp_path_factory.mktemp(name.replace('-', '_')))
        if os.path.exists(os.path.join(fixtures, name + '.tree')):
            hosttree.load_tree(os.path.join(fixtures, name + '.tree'), dest)
        else:
            synthhost.HOSTS[name]().write(dest)
        return dest
    return make


def test_chromium_shows_every_host_in_the_table_and_a_section(page):
    dom = open_in_chromium(page['path'])
    names = list(page['facts'])
    assert sorted(dom.hosts) == sorted(names) and sorted(dom.rows) == sorted(names)
    assert dom.rows['qemu-testbed'][1:6] == ['2', '2', '2M: 192, 1G: 2', 'on', '?']


def test_chromium_shows_the_qemu_guest_topology_and_its_misplaced_1g_page(page):
    qemu = open_in_chromium(page['path']).hosts['qemu-testbed']
    assert sorted(qemu['panels']) == ['0', '1', 'unknown']
    assert qemu['panels']['0']['pools'] == {'2M': 128, '1G': 0}
    assert qemu['panels']['1']['pools'] == {'2M': 64, '1G': 2}
    assert qemu['panels']['unknown']['nics'] == ['0000:00:02.0', '0000:00:03.0', '0000:00:04.0']
    text = ''.join(qemu['text'])
    assert 'vf0 igbvf' in text and 'driver igb' in text and 'IOMMU on (intel: dmar0), passthrough, 10 groups' in text
    assert qemu['findings'][0] == ['error', "partial boot allocation: 1G pages per node differ from the command line: "
                                            "node0 asked 1 got 0, node1 asked 1 got 2 (the kernel may place a node's "
                                            "pages on another node, or fewer when memory is fragmented)"]


def test_chromium_shows_the_server_findings_and_nics_on_their_node(page):
    server = open_in_chromium(page['path']).hosts['server2s']
    assert server['panels']['1']['nics'] == ['0000:af:00.0']
    assert server['panels']['0']['nics'] == ['0000:18:00.0', '0000:3b:00.0']
    assert server['panels']['1']['pools'] == {'2M': 512, '1G': 8}
    findings = [tuple(f) for f in server['findings']]
    assert ('error', 'partial allocation: 2M pages on node 1: 600 configured, 512 allocated') in findings
    assert ('warning', 'reboot pending: the booted command line differs from the configuration '
                       '(to remove iommu=pt)') in findings


def test_chromium_shows_this_machine_as_its_facts_say(page):
    name = socket.gethostname()
    facts = page['facts'][name]
    here = open_in_chromium(page['path']).hosts[name]
    nodes = sorted(facts['numa']['nodes'], key=int)
    assert [k for k in sorted(here['panels']) if k != 'unknown'] == sorted(nodes)
    for node in nodes:
        expected = dict((size, pool['nodes'][node]['nr']) for size, pool in facts['hugepages']['pools'].items()
                        if node in pool['nodes'])
        assert here['panels'][node]['pools'] == expected
    text = ''.join(here['text'])
    assert ('IOMMU on' if facts['iommu']['enabled'] else 'IOMMU off') in text
    for note in facts['summary']:
        assert ['info', note] in here['findings']


def test_screenshot(page, tmp_path):
    shot = str(tmp_path / 'report.png')
    chromium('--screenshot=%s' % shot, '--window-size=1280,2000', 'file://%s' % page['path'])
    assert png_size(shot) == (1280, 2000)
    assert os.path.getsize(shot) > 50000  # a drawn page, not a blank one (a blank PNG of this size is ~10 KB)


def test_report_playbook_on_localhost(tmp_path):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text('all:\n  hosts:\n    thismachine:\n      ansible_connection: local\n'
                         '      ansible_python_interpreter: %s\n      hugepages_pools: [{size: 2M, count: 0}]\n'
                         % sys.executable)
    out = tmp_path / 'nodes.html'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.build', 'collections'),
               ANSIBLE_INJECT_FACT_VARS='False', ANSIBLE_LOCALHOST_WARNING='False')
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(inventory),
                           'dataplane.node.report', '-e', 'dataplane_report_path=%s' % out],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    dom = open_in_chromium(str(out))
    assert list(dom.hosts) == ['thismachine'] and list(dom.rows) == ['thismachine']
    facts = gather(Host('/'), SUBSETS)
    shown = dom.hosts['thismachine']
    assert [k for k in sorted(shown['panels']) if k != 'unknown'] == sorted(facts['numa']['nodes'], key=int)
    assert shown['findings'] or 'no findings' in ''.join(shown['text'])
