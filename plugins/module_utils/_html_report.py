# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One self-contained HTML page describing the dataplane state of an inventory.

Private to the dataplane.node collection: names may change without notice.

Pure functions: `node_findings` and `node_view` turn one node's `dataplane` fact (and, when known, the
preflight's plan and problems for it) into plain data, and `render_page` turns a list of them into HTML
with inline CSS only: no script, no external asset, so the file opens from disk or a mail attachment.
Per node it draws the NUMA topology (a panel per NUMA node with its CPUs, memory, hugepage pools and the
NICs with their VFs and drivers, and one for devices whose node the kernel does not know), the IOMMU state,
and the findings: partial allocations, NICs far from their hugepages, a pending reboot, locality warnings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dataplane.node.plugins.module_utils import _summary
from ansible_collections.dataplane.node.plugins.module_utils._kernel_args import HUGEPAGE_KEYS, key_of
from ansible_collections.dataplane.node.plugins.module_utils._parse import ParseError, format_cpulist, tokenize_cmdline
from ansible_collections.dataplane.node.plugins.module_utils._verify import boot_problems

_ESCAPES = (('&', '&amp;'), ('<', '&lt;'), ('>', '&gt;'), ('"', '&quot;'), ("'", '&#x27;'))


def esc(value):
    text = '' if value is None else str(value)
    for char, entity in _ESCAPES:
        text = text.replace(char, entity)
    return text


def _sorted_pools(hugepages):
    return sorted(((hugepages or {}).get('pools') or {}).items(), key=lambda item: item[1]['size_kb'])


# ---------------------------------------------------------------- findings

def _used_nics(facts, plan):
    """The NICs the run uses (from the plan), else the ones that look used: PFs with VFs, devices on vfio-pci."""
    devices = (facts.get('pci') or {}).get('devices') or {}
    if plan and plan.get('nics'):
        return [devices[n['address']] for n in plan['nics'] if n['address'] in devices]
    used = []
    for address in sorted(devices):
        device = devices[address]
        if device['physfn']:
            continue
        if (device['sriov'] and device['sriov'].get('numvfs')) or device['driver'] == 'vfio-pci':
            used.append(device)
    return used


def node_findings(facts, plan=None, problems=None):
    """[(level, text)]: level is 'error', 'warning' or 'info'."""
    found = [('error', 'invalid variables: %s' % p) for p in problems or []]
    hugepages = facts.get('hugepages') or {}
    raw = (facts.get('cmdline') or {}).get('raw')
    if raw and hugepages.get('pools'):
        try:
            tokens = [t for t in tokenize_cmdline(raw) if key_of(t) in HUGEPAGE_KEYS]
            for text in boot_problems(facts, {'present': tokens, 'absent': []}):
                found.append(('error', 'partial boot allocation: %s' % text))
        except (ParseError, ValueError):
            pass
    pools = hugepages.get('pools') or {}
    for pool in (plan or {}).get('pools') or []:
        got = pools.get(pool['size'])
        for node, asked in sorted(pool['nodes'].items()):
            have = ((got or {}).get('nodes', {}).get(node) or {}).get('nr')
            if have is not None and have < asked:
                found.append(('error', 'partial allocation: %s pages on node %s: %d configured, %d allocated' % (
                    pool['size'], node, asked, have)))
    with_pages = set(n for _s, p in _sorted_pools(hugepages) for n, v in p['nodes'].items() if v['nr'])
    if with_pages:
        for device in _used_nics(facts, plan):
            node = device['numa_node']
            if node is not None and str(node) not in with_pages:
                found.append(('warning', 'NIC %s (%s) is on NUMA node %s, its hugepages are on node %s' % (
                    device['address'], ', '.join(device['netdevs']) or device['driver'] or 'no driver', node,
                    ', '.join(sorted(with_pages)))))
    reboot = (plan or {}).get('reboot') or {}
    if reboot.get('needed'):
        parts = []
        if reboot.get('missing'):
            parts.append('missing %s' % ' '.join(reboot['missing']))
        if reboot.get('unexpected'):
            parts.append('to remove %s' % ' '.join(reboot['unexpected']))
        found.append(('warning', 'reboot pending: the booted command line differs from the configuration (%s)'
                      % '; '.join(parts)))
    for item in (plan or {}).get('findings') or []:
        found.append((item['level'], 'NUMA locality: %s' % item['text']))
    iommu = facts.get('iommu') or {}
    if iommu.get('vfio_noiommu'):
        found.append(('warning', 'vfio no-IOMMU mode is on: devices do DMA without protection (kernel tainted)'))
    for note in facts.get('summary') or []:
        found.append(('info', note))
    return found


# ---------------------------------------------------------------- page

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header.page{background:#1d2330;color:#fff;padding:14px 24px}header.page h1{margin:0;font-size:20px}
main{padding:16px 24px}table.fleet{border-collapse:collapse;background:#fff;margin-bottom:20px}
.fleet th,.fleet td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}
section.host{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:0 0 20px;padding:12px 16px}
section.host h2{margin:0 0 4px;font-size:18px}.meta{color:#4b5568;font-size:13px;margin:2px 0}
code{background:#eef0f4;padding:1px 4px;border-radius:3px;font-size:12px;word-break:break-all}
.topology{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.numa{border:2px solid #5b7bd5;border-radius:6px;padding:8px;min-width:300px;flex:1;background:#f8faff}
.numa.unknown{border-color:#a0a7b4;border-style:dashed;background:#fafafa}
.numa h3{margin:0 0 6px;font-size:15px}.cpus{display:flex;flex-wrap:wrap;gap:2px;margin:4px 0}
.cpu{width:26px;height:18px;font-size:10px;line-height:18px;text-align:center;border-radius:2px;background:#c9d3ea}
.cpu.isolated{background:#2f9e6f;color:#fff}.mem{height:10px;background:#dfe4ee;border-radius:5px;overflow:hidden;margin:4px 0}
.mem span{display:block;height:10px;background:#e0a030}.pools{margin:4px 0;padding:0;list-style:none}
.pools li{font-size:13px}.nic{border:1px solid #b9c2d6;border-radius:4px;background:#fff;padding:6px;margin:6px 0}
.nic.used{border-color:#2f6fd5;box-shadow:0 0 0 1px #2f6fd5}.nic .addr{font-weight:600}
.vfs{display:flex;flex-wrap:wrap;gap:3px;margin-top:4px}.vf{font-size:11px;padding:1px 4px;border-radius:3px;background:#e4e7ee}
.vf.vfio-pci,.drv-vfio-pci{background:#7a4fd0;color:#fff}.badge{font-size:11px;padding:1px 5px;border-radius:8px;background:#e4e7ee;margin-left:4px}
.badge.mgmt{background:#d54b4b;color:#fff}.badge.use{background:#2f6fd5;color:#fff}
.findings{margin:8px 0 0;padding:0;list-style:none}.findings li{padding:3px 8px;margin:2px 0;border-left:4px solid}
.f-error{border-color:#d54b4b;background:#fdeeee}.f-warning{border-color:#e0a030;background:#fdf6e7}
.f-info{border-color:#a0a7b4;background:#f3f4f6}.ok{color:#2f9e6f}.legend{font-size:12px;color:#4b5568}
"""


def _gib(kb):
    return '?' if kb is None else '%.1f GiB' % (kb / 1048576.0)


def _nic_html(device, uses):
    classes = 'nic used' if uses else 'nic'
    badges = ''
    if device['carries_default_route']:
        badges += '<span class="badge mgmt">management</span>'
    for use in uses:
        badges += '<span class="badge use">%s</span>' % esc(use)
    parts = ['<div class="%s" data-nic="%s">' % (classes, esc(device['address'])),
             '<span class="addr">%s</span> %s %s<br>' % (
                 esc(device['address']), esc(', '.join(device['netdevs']) or '-'), badges),
             '<span class="meta">%s:%s %s, driver <b class="drv-%s">%s</b>, IOMMU group %s</span>' % (
                 esc(device['vendor']), esc(device['device']), esc(device['kind']), esc(device['driver'] or 'none'),
                 esc(device['driver'] or 'none'), esc(device['iommu_group'] if device['iommu_group'] is not None else '-'))]
    sriov = device.get('sriov')
    if sriov is not None:
        parts.append('<div class="meta">SR-IOV: %s of %s VFs</div>' % (
            esc(sriov.get('numvfs')), esc(sriov.get('totalvfs'))))
        if sriov.get('vfs'):
            parts.append('<div class="vfs">%s</div>' % ''.join(
                '<span class="vf %s" title="%s">vf%d %s</span>' % (
                    esc(vf.get('driver') or 'none'), esc(vf['address']), vf['index'], esc(vf.get('driver') or 'none'))
                for vf in sriov['vfs']))
    parts.append('</div>')
    return ''.join(parts)


def _numa_panel(node_id, node, facts, devices, uses):
    hugepages = facts.get('hugepages') or {}
    isolated = set(((facts.get('numa') or {}).get('cpus') or {}).get('isolated', {}).get('kernel') or [])
    out = ['<div class="numa" data-numa-node="%s">' % esc(node_id)]
    out.append('<h3>NUMA node %s</h3>' % esc(node_id))
    cpus = node.get('cpus') or []
    out.append('<div class="meta">CPUs %s (%d)%s</div>' % (
        esc(node.get('cpulist') or 'none'), len(cpus),
        ', isolated %s' % esc(format_cpulist(sorted(isolated & set(cpus)))) if isolated & set(cpus) else ''))
    out.append('<div class="cpus">%s</div>' % ''.join(
        '<span class="cpu%s" title="cpu%d">%d</span>' % (' isolated' if c in isolated else '', c, c) for c in cpus))
    total = node.get('memory_total_kb')
    huge_kb = sum((p['nodes'].get(node_id) or {}).get('nr', 0) * p['size_kb'] for _s, p in _sorted_pools(hugepages)
                  if (p['nodes'].get(node_id) or {}).get('nr'))
    share = min(100.0, 100.0 * huge_kb / total) if total else 0.0
    out.append('<div class="meta">memory %s, free %s, in hugepages %s</div>' % (
        _gib(total), _gib(node.get('memory_free_kb')), _gib(huge_kb)))
    out.append('<div class="mem" title="hugepages share of the node\'s memory"><span style="width:%.1f%%"></span></div>'
               % share)
    rows = []
    for size, pool in _sorted_pools(hugepages):
        per = pool['nodes'].get(node_id)
        if per is not None:
            rows.append('<li data-pool="%s" data-nr="%s">hugepages %s: <b>%s</b> (free %s)</li>' % (
                esc(size), esc(per.get('nr')), esc(size), esc(per.get('nr')), esc(per.get('free'))))
    out.append('<ul class="pools">%s</ul>' % (''.join(rows) or '<li>no hugepage pools</li>'))
    for device in devices:
        out.append(_nic_html(device, uses.get(device['address'], [])))
    out.append('</div>')
    return ''.join(out)


def _summary_html(summary):
    """The last run's summary (module_utils/_summary.py) and its pending effects, when the page has one."""
    lines = _summary.lines(summary)
    out = ['<h3>Last run: <span data-run-status="%s">%s</span></h3>' % (esc(summary.get('status')), esc(summary.get('status')))]
    body = [line.strip() for line in lines[1:] if not line.strip().startswith('PENDING ')]
    if body:
        out.append('<ul class="run">%s</ul>' % ''.join('<li>%s</li>' % esc(line) for line in body))
    if summary.get('pending'):
        out.append('<ul class="findings pending">%s</ul>' % ''.join(
            '<li class="f-warning" data-level="pending">pending %s: %s</li>' % (esc(p['what']), esc(p['reason']))
            for p in summary['pending']))
    return ''.join(out)


def render_host(name, facts, plan=None, problems=None, summary=None):
    """The <section> of one host."""
    facts = facts or {}
    boot = facts.get('boot') or {}
    numa = facts.get('numa') or {}
    iommu = facts.get('iommu') or {}
    hugepages = facts.get('hugepages') or {}
    pci = facts.get('pci') or {}
    uses = dict((n['address'], n['uses']) for n in (plan or {}).get('nics') or [])
    out = ['<section class="host" id="host-%s" data-host="%s">' % (esc(name), esc(name))]
    out.append('<h2>%s</h2>' % esc(name))
    if not facts:
        out.append('<p class="meta">no dataplane facts gathered</p>')
    if boot:
        out.append('<p class="meta">%s, kernel %s, %s boot, loader %s</p>' % (
            esc(boot.get('os', {}).get('name') or boot.get('os', {}).get('id') or 'unknown OS'), esc(boot.get('kernel')),
            esc(boot.get('firmware')), esc(boot.get('loader'))))
    if (facts.get('cmdline') or {}).get('raw'):
        out.append('<p class="meta">command line <code>%s</code></p>' % esc(facts['cmdline']['raw']))
    if iommu:
        if iommu.get('enabled'):
            text = 'IOMMU <b class="ok">on</b> (%s: %s), %s, %d groups%s' % (
                esc(iommu.get('vendor')), esc(', '.join(iommu.get('units') or [])),
                'passthrough' if iommu.get('passthrough') else 'translated', iommu.get('group_count') or 0,
                ', <b>vfio no-IOMMU mode</b>' if iommu.get('vfio_noiommu') else '')
        else:
            text = 'IOMMU <b>off</b>: %s' % esc(iommu.get('reason'))
        out.append('<p class="meta" data-iommu="%s">%s</p>' % ('on' if iommu.get('enabled') else 'off', text))
    if hugepages:
        out.append('<p class="meta">default hugepage size %s; hugetlbfs %s; THP %s</p>' % (
            esc(hugepages.get('default_size') or '?'),
            esc(', '.join('%s (%s)' % (m['path'], m['pagesize']) for m in hugepages.get('mounts') or []) or 'none'),
            esc((hugepages.get('transparent') or {}).get('enabled') or '?')))
    devices = [d for _a, d in sorted((pci.get('devices') or {}).items()) if not d['physfn']]
    by_node = {}
    for device in devices:
        by_node.setdefault(None if device['numa_node'] is None else str(device['numa_node']), []).append(device)
    nodes = numa.get('nodes') or {}
    out.append('<div class="topology">')
    for node_id in sorted(nodes, key=int):
        out.append(_numa_panel(node_id, nodes[node_id], facts, by_node.pop(node_id, []), uses))
    leftover = [d for k in sorted(by_node, key=lambda k: (k is None, k or '')) for d in by_node[k]]
    if leftover:
        out.append('<div class="numa unknown" data-numa-node="unknown"><h3>NUMA node unknown</h3>'
                   '<div class="meta">numa_node -1: the firmware gives no affinity for these devices</div>%s</div>'
                   % ''.join(_nic_html(d, uses.get(d['address'], [])) for d in leftover))
    out.append('</div>')
    if summary:
        out.append(_summary_html(summary))
    found = node_findings(facts, plan, problems)
    out.append('<h3>Findings</h3>')
    if found:
        out.append('<ul class="findings">%s</ul>' % ''.join(
            '<li class="f-%s" data-level="%s">%s</li>' % (level, level, esc(text)) for level, text in found))
    else:
        out.append('<p class="ok">no findings</p>')
    out.append('</section>')
    return ''.join(out)


def _fleet_row(name, facts, plan, problems):
    facts = facts or {}
    numa = facts.get('numa') or {}
    cpus = numa.get('cpus') or {}
    pools = ', '.join('%s: %s' % (s, p['nr']) for s, p in _sorted_pools(facts.get('hugepages')) if p['nr']) or 'none'
    iommu = facts.get('iommu') or {}
    reboot = ((plan or {}).get('reboot') or {}).get('needed')
    found = node_findings(facts, plan, problems)
    counts = dict((level, sum(1 for f in found if f[0] == level)) for level in ('error', 'warning'))
    return ('<tr data-host="%s"><td><a href="#host-%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
            '<td>%s</td><td>%d errors, %d warnings</td></tr>') % (
        esc(name), esc(name), esc(name), esc(numa.get('node_count', '?')), esc(cpus.get('count', '?')), esc(pools),
        'on' if iommu.get('enabled') else 'off' if iommu else '?',
        'pending' if reboot else 'no' if reboot is False else '?', counts['error'], counts['warning'])


def render_page(hosts, title='dataplane.node report', generated=None):
    """hosts: [{'name', 'facts', 'plan', 'problems', 'summary' (the last three optional)}] -> the whole HTML page."""
    out = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           '<title>%s</title><style>%s</style></head><body>' % (esc(title), _CSS),
           '<header class="page"><h1>%s</h1>%s</header><main>' % (
               esc(title), '<div>%s</div>' % esc(generated) if generated else '')]
    out.append('<table class="fleet"><thead><tr><th>host</th><th>NUMA nodes</th><th>CPUs</th><th>hugepages</th>'
               '<th>IOMMU</th><th>reboot</th><th>findings</th></tr></thead><tbody>')
    for host in hosts:
        out.append(_fleet_row(host['name'], host.get('facts'), host.get('plan'), host.get('problems')))
    out.append('</tbody></table>')
    out.append('<p class="legend">CPUs: <span class="cpu isolated">n</span> isolated, <span class="cpu">n</span> '
               'housekeeping. NICs: blue border = used by the run; <span class="vf vfio-pci">vfio-pci</span> '
               'VFs serve DPDK; orange bar = share of the node\'s memory in hugepages.</p>')
    for host in hosts:
        out.append(render_host(host['name'], host.get('facts'), host.get('plan'), host.get('problems'),
                               host.get('summary')))
    out.append('</main></body></html>\n')
    return ''.join(out)
