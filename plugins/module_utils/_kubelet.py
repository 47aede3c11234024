# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KubeletConfiguration: Kubernetes quantities, versions, feature gates, merging and validation.

Private to the dataplane.node collection: names may change without notice.

Pure functions over plain data (the parsed YAML, the host model's sections), so every rule is unit
tested on literal values. Only load_config/dump_config need PyYAML, imported guarded: the module runs on
the node, where the kubelet role installs python3-yaml first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import math
import re
from fractions import Fraction

from ansible_collections.dataplane.node.plugins.module_utils._parse import (
    ParseError,
    format_cpulist,
    parse_cpulist,
    parse_shell_assignments,
)

try:
    import yaml
except ImportError:  # pragma: no cover - exercised on nodes without python3-yaml
    yaml = None
    HAS_YAML = False
else:
    HAS_YAML = True

API_VERSION = 'kubelet.config.k8s.io/v1beta1'
KIND = 'KubeletConfiguration'
CPU_MANAGER_POLICIES = ('none', 'static')
MEMORY_MANAGER_POLICIES = ('None', 'Static')
TOPOLOGY_MANAGER_POLICIES = ('none', 'best-effort', 'restricted', 'single-numa-node')
TOPOLOGY_MANAGER_SCOPES = ('container', 'pod')
# kubelet's default hard eviction threshold for memory when evictionHard is not set at all
# (pkg/kubelet/apis/config/v1beta1 defaults: memory.available<100Mi).
DEFAULT_EVICTION_MEMORY = '100Mi'


class KubeletConfigError(ValueError):
    """Invalid request or configuration; .problems lists every one found."""

    def __init__(self, problems):
        self.problems = list(problems)
        ValueError.__init__(self, '; '.join(self.problems))


# ---------------------------------------------------------------- quantities

# k8s.io/apimachinery/pkg/api/resource/quantity.go: <signedNumber><suffix>, suffix binary SI (Ki..Ei),
# decimal SI (n, u, m, "", k, M, G, T, P, E) or a decimal exponent (e3, E-2).
_BINARY = {'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40, 'Pi': 2 ** 50, 'Ei': 2 ** 60}
_DECIMAL = {'n': Fraction(1, 10 ** 9), 'u': Fraction(1, 10 ** 6), 'm': Fraction(1, 1000), '': 1,
            'k': 10 ** 3, 'M': 10 ** 6, 'G': 10 ** 9, 'T': 10 ** 12, 'P': 10 ** 15, 'E': 10 ** 18}
_QUANTITY_RE = re.compile(r'^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)$')


def parse_quantity(value):
    """A Kubernetes quantity as an exact Fraction: '1Gi' -> 1073741824, '100M' -> 10**8, '500m' -> 1/2.

    YAML numbers (1024, 0.5) are accepted as plain numbers. '1GB', '1 Gi', '10%' are not quantities.
    """
    if isinstance(value, bool):
        raise ParseError('not a Kubernetes quantity: %r' % (value,))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(str(value))
    m = _QUANTITY_RE.match(str(value if value is not None else '').strip())
    if not m:
        raise ParseError('not a Kubernetes quantity: %r' % (value,))
    sign, number, suffix = m.groups()
    amount = Fraction(number if not number.startswith('.') else '0' + number)
    if suffix in _BINARY:
        amount *= _BINARY[suffix]
    elif suffix[:1] in ('e', 'E'):
        amount *= Fraction(10) ** int(suffix[1:])
    else:
        amount *= _DECIMAL[suffix]
    return -amount if sign == '-' else amount


def parse_memory(value):
    """Bytes of a memory quantity, rounded up to a whole byte as Quantity.Value() does."""
    return int(math.ceil(parse_quantity(value)))


def format_memory(size):
    """Shortest exact form: 1073741824 -> '1Gi', 10**8 -> '100M', 1536 -> '1536'."""
    size = int(size)
    if size:
        for suffix in ('Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'):
            if size % _BINARY[suffix] == 0:
                return '%d%s' % (size // _BINARY[suffix], suffix)
        for suffix in ('E', 'P', 'T', 'G', 'M', 'k'):
            if size % _DECIMAL[suffix] == 0:
                return '%d%s' % (size // _DECIMAL[suffix], suffix)
    return str(size)


# ---------------------------------------------------------------- versions

_VERSION_RE = re.compile(r'(?:^|\s|v)(\d+)\.(\d+)(?:\.(\d+))?')


def parse_version(text):
    """'Kubernetes v1.29.3' (kubelet --version), 'v1.29.3', '1.29' -> (1, 29, 3)."""
    m = _VERSION_RE.search(str(text or ''))
    if not m:
        raise ParseError('not a Kubernetes version: %r' % (text,))
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def format_version(version):
    return '%d.%d' % tuple(version[:2])


# ---------------------------------------------------------------- feature gates

# Feature gates that matter for DPDK nodes, as data. Each stage: (stage, first minor, last minor or None
# while current, default, locked). Versions are 1.<minor>. A gate used after the last stage of a removed
# gate, or before its first stage, is unknown to that kubelet, which then refuses to start
# ("unrecognized feature gate"); a locked gate cannot be set to the other value.
# Sources: kubernetes/website content/en/docs/reference/command-line-tools-reference/feature-gates/<Name>.md
# (front matter "stages", "removed", "locked"), read 2026; and the removed-gates table
# https://kubernetes.io/docs/reference/command-line-tools-reference/feature-gates-removed/
FEATURE_GATES = {
    # HugePages.md: alpha 1.8-1.9, beta 1.10-1.13, GA 1.14-1.16, removed.
    'HugePages': {'stages': [('alpha', 8, 9, False, False), ('beta', 10, 13, True, False),
                             ('ga', 14, 16, True, False)], 'removed': True},
    # HugePageStorageMediumSize.md: alpha 1.18, beta 1.19-1.21, GA 1.22-1.24, removed.
    'HugePageStorageMediumSize': {'stages': [('alpha', 18, 18, False, False), ('beta', 19, 21, True, False),
                                             ('ga', 22, 24, True, False)], 'removed': True},
    # SizeMemoryBackedVolumes.md: alpha 1.20-1.21, beta 1.22-1.31, GA 1.32 locked true (not removed yet).
    'SizeMemoryBackedVolumes': {'stages': [('alpha', 20, 21, False, False), ('beta', 22, 31, True, False),
                                           ('ga', 32, None, True, True)], 'removed': False},
    # MemoryManager.md: alpha 1.21, beta 1.22-1.31, GA 1.32 locked true.
    'MemoryManager': {'stages': [('alpha', 21, 21, False, False), ('beta', 22, 31, True, False),
                                 ('ga', 32, None, True, True)], 'removed': False},
    # CPUManager.md: alpha 1.8-1.9, beta 1.10-1.25, GA 1.26 (the page gives no lock and no removal).
    'CPUManager': {'stages': [('alpha', 8, 9, False, False), ('beta', 10, 25, True, False),
                              ('ga', 26, None, True, False)], 'removed': False},
    # TopologyManager.md: alpha 1.16-1.17, beta 1.18-1.26, GA 1.27-1.28, removed.
    'TopologyManager': {'stages': [('alpha', 16, 17, False, False), ('beta', 18, 26, True, False),
                                   ('ga', 27, 28, True, False)], 'removed': True},
}

# --config-dir drop-ins (KEP-3983, kubernetes/website PR 45665 and the v1.35 GA blog post): alpha in 1.28 and
# 1.29, where the kubelet also needs the environment variable KUBELET_CONFIG_DROPIN_DIR_ALPHA (any value) or it
# refuses --config-dir; beta from 1.30 (KubeletConfigDropInDir on by default); GA in 1.35. Every drop-in must
# carry apiVersion and kind (kubernetes issue 124796); files ending in .conf are merged in name order,
# structures field by field, lists replaced whole.
DROPIN_MIN_VERSION = (1, 28)
DROPIN_ALPHA_LAST = (1, 29)


# KubeletConfiguration (v1beta1) fields newer than some kubelets still in use, with the minor version that added
# them. An older kubelet decodes its config leniently: it logs "unknown field" and runs WITHOUT the setting (seen on
# the testbed's real kubelet 1.20.2: memoryManagerPolicy, reservedMemory and topologyManagerPolicyOptions were
# accepted, absent from /configz, and had no effect). Only a check by version catches them.
# Sources: the KubeletConfiguration v1beta1 reference (kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1)
# and the release notes of each version.
FIELD_VERSIONS = {
    'memoryManagerPolicy': 21,
    'reservedMemory': 21,
    'cpuManagerPolicyOptions': 22,
    'memorySwap': 22,
    'topologyManagerPolicyOptions': 26,
    'containerRuntimeEndpoint': 27,
}


def field_problems(config, version):
    """Fields the kubelet version does not know (it would ignore them silently)."""
    problems = []
    minor = version[1] if version[0] == 1 else 10 ** 6
    for field, first in sorted(FIELD_VERSIONS.items(), key=lambda item: (item[1], item[0])):
        # A zero value ("", {}, []) changes nothing whether kubelet knows the field or not: kubeadm writes such
        # values of fields newer than some kubelets (its v1.32.13 config.yaml has containerRuntimeEndpoint: ""
        # and memorySwap: {}, tests/fixtures/kubelet/kubeadm-1.32.13-config.yaml).
        if field in config and config[field] not in ('', {}, [], None) and minor < first:
            problems.append('%s needs kubelet 1.%d or later: kubelet %s does not know the field and silently runs '
                            'without it (lenient decoding); remove it or upgrade kubelet'
                            % (field, first, format_version(version)))
    return problems


def gate_stage(name, version):
    """The stage of a known gate in a kubelet version: a stage tuple, 'removed', 'future', or None (unknown gate)."""
    gate = FEATURE_GATES.get(name)
    if gate is None:
        return None
    minor = version[1] if version[0] == 1 else 10 ** 6
    stages = gate['stages']
    if minor < stages[0][1]:
        return 'future'
    for stage in stages:
        if stage[2] is None or minor <= stage[2]:
            return stage
    return 'removed' if gate['removed'] else stages[-1]


def gate_enabled(gates, name, version):
    """Whether a gate is on in a kubelet version, given the configured featureGates (default otherwise)."""
    stage = gate_stage(name, version)
    if name in (gates or {}):
        return bool(gates[name])
    return isinstance(stage, tuple) and stage[3]


def _locked(name, version):
    """A gate locked in this version: setting it otherwise is already a gate problem."""
    stage = gate_stage(name, version)
    return isinstance(stage, tuple) and stage[4]


def gate_problems(gates, version):
    """Problems and notes for the configured featureGates of a kubelet version."""
    problems, notes = [], []
    for name, value in sorted((gates or {}).items()):
        if not isinstance(value, bool):
            problems.append('featureGates %s: %r is not true or false' % (name, value))
            continue
        stage = gate_stage(name, version)
        v = format_version(version)
        if stage is None:
            notes.append('featureGates %s: not in the collection\'s table, not checked against kubelet %s' % (name, v))
        elif stage == 'future':
            problems.append('featureGates %s does not exist yet in kubelet %s (from 1.%d): kubelet refuses to start '
                            'with an unrecognized gate' % (name, v, FEATURE_GATES[name]['stages'][0][1]))
        elif stage == 'removed':
            problems.append('featureGates %s was removed after Kubernetes 1.%d: kubelet %s refuses to start with it; '
                            'remove it from featureGates' % (name, FEATURE_GATES[name]['stages'][-1][2], v))
        elif stage[4] and value != stage[3]:
            problems.append('featureGates %s is GA and locked to %s since 1.%d: kubelet %s refuses %s=%s'
                            % (name, str(stage[3]).lower(), stage[1], v, name, str(value).lower()))
    return problems, notes


# ---------------------------------------------------------------- YAML and merging

class ConfigFileError(ValueError):
    """A config file that is not YAML or not a KubeletConfiguration: left untouched."""


def load_config(text, where):
    """Parse a KubeletConfiguration document; empty text gives a new one. Raises ConfigFileError."""
    if text is None or not text.strip():
        return {'apiVersion': API_VERSION, 'kind': KIND}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        if mark is not None and getattr(exc, 'problem', None):
            detail = 'line %d, column %d: %s' % (mark.line + 1, mark.column + 1, exc.problem)
        else:
            detail = ' '.join(str(exc).split())
        raise ConfigFileError('%s is not valid YAML, left untouched: %s' % (where, detail))
    if not isinstance(data, dict):
        raise ConfigFileError('%s is not a KubeletConfiguration (a YAML mapping is expected, found %s), left untouched'
                              % (where, type(data).__name__))
    if data.get('kind') != KIND or data.get('apiVersion') != API_VERSION:
        raise ConfigFileError('%s is not a KubeletConfiguration (kind %r, apiVersion %r; expected kind %s, apiVersion '
                              '%s), left untouched' % (where, data.get('kind'), data.get('apiVersion'), KIND, API_VERSION))
    return data


if HAS_YAML:
    class _GoStyleDumper(yaml.SafeDumper):
        """Quotes the way kubeadm's Go YAML encoder does: double quotes where quoting is needed ("", "0")."""

        def choose_scalar_style(self):
            style = yaml.SafeDumper.choose_scalar_style(self)
            return '"' if style == "'" else style
else:  # pragma: no cover
    _GoStyleDumper = None


def dump_config(data, header=None):
    """YAML text in kubeadm's layout: block style, keys in their order, lists not indented under their key."""
    text = yaml.dump(data, Dumper=_GoStyleDumper, default_flow_style=False, sort_keys=False, allow_unicode=True)
    return (header or '') + text


def merge(base, settings):
    """JSON merge patch (RFC 7386) of settings into a copy of base: mappings merge key by key, lists and
    scalars replace, a None value removes the key. Keys keep their order; new keys come last."""
    result = copy.deepcopy(base)
    for key, value in settings.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        elif isinstance(value, dict):
            result[key] = merge({}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def overlay(base, dropin):
    """How kubelet merges a --config-dir drop-in over the config: structures field by field, lists whole."""
    result = copy.deepcopy(base)
    for key, value in dropin.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = overlay(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def normalize_settings(settings):
    """Values kubelet wants as strings even when YAML or Jinja made them numbers (reservedSystemCPUs: 0)."""
    settings = copy.deepcopy(settings or {})
    if isinstance(settings.get('reservedSystemCPUs'), int) and not isinstance(settings['reservedSystemCPUs'], bool):
        settings['reservedSystemCPUs'] = str(settings['reservedSystemCPUs'])
    return settings


def overridden_keys(ours, later, prefix=''):
    """Keys we set that a later drop-in sets to something else (dotted paths)."""
    found = []
    for key, value in ours.items():
        if key in ('apiVersion', 'kind') or key not in later:
            continue
        if isinstance(value, dict) and isinstance(later[key], dict):
            found.extend(overridden_keys(value, later[key], prefix + key + '.'))
        elif later[key] != value:
            found.append(prefix + key)
    return found


# ---------------------------------------------------------------- validation

def _reserved_memory(config, where):
    """kubeReserved/systemReserved memory (0 when unset) or a problem."""
    value = (config.get(where) or {}).get('memory')
    if value is None:
        return 0, None
    try:
        return parse_memory(value), None
    except ParseError as exc:
        return None, '%s memory: %s' % (where, exc)


def _eviction_memory(config):
    eviction = config.get('evictionHard')
    if eviction is None:
        return parse_memory(DEFAULT_EVICTION_MEMORY), None
    value = eviction.get('memory.available')
    if value is None:
        # A set evictionHard replaces kubelet's defaults: no memory.available threshold.
        return 0, None
    if isinstance(value, str) and value.strip().endswith('%'):
        return None, ('evictionHard memory.available is a percentage (%s): give an absolute quantity (e.g. 100Mi) so '
                      'reservedMemory can be checked against it' % value.strip())
    try:
        return parse_memory(value), None
    except ParseError as exc:
        return None, 'evictionHard memory.available: %s' % exc


def _has_cpu(config, where):
    value = (config.get(where) or {}).get('cpu')
    if value is None:
        return False, None
    try:
        return parse_quantity(value) > 0, None
    except ParseError as exc:
        return False, '%s cpu: %s' % (where, exc)


def validate(config, host_cpus, host_numa, isolated, version):
    """Every problem of an effective KubeletConfiguration on this host, and notes.

    host_cpus/host_numa: the host model's cpus()/numa() sections. isolated: list of CPU ids isolated from the
    scheduler (kernel or parameter). version: (major, minor, patch) or None (version rules skipped).
    """
    problems, notes = [], []
    gates = config.get('featureGates') or {}
    if not isinstance(gates, dict):
        problems.append('featureGates must be a mapping of gate names to true or false')
        gates = {}

    # CPU manager and reserved CPUs
    cpu_policy = config.get('cpuManagerPolicy', 'none')
    if cpu_policy not in CPU_MANAGER_POLICIES:
        problems.append('cpuManagerPolicy %r is not one of %s' % (cpu_policy, ', '.join(CPU_MANAGER_POLICIES)))
    reserved = []
    reserved_text = config.get('reservedSystemCPUs')
    if reserved_text not in (None, ''):
        try:
            reserved = parse_cpulist(str(reserved_text))
        except ParseError as exc:
            problems.append('reservedSystemCPUs: %s' % exc)
    online = host_cpus.get('online') or []
    if reserved and online:
        missing = sorted(set(reserved) - set(online))
        if missing:
            problems.append('reservedSystemCPUs %s: CPUs %s do not exist on this host (online: %s)'
                            % (reserved_text, format_cpulist(missing), format_cpulist(online)))
    if isolated and online:
        missing = sorted(set(isolated) - set(online))
        if missing:
            problems.append('isolated CPUs %s: CPUs %s do not exist on this host (online: %s)'
                            % (format_cpulist(isolated), format_cpulist(missing), format_cpulist(online)))
    overlap = sorted(set(reserved) & set(isolated or []))
    if overlap:
        problems.append('reservedSystemCPUs %s overlaps the isolated CPUs %s on %s: reserved CPUs run the system and '
                        'kubelet, isolated CPUs are for DPDK poll-mode threads'
                        % (reserved_text, format_cpulist(isolated), format_cpulist(overlap)))
    if reserved and online and not sorted(set(online) - set(reserved)):
        problems.append('reservedSystemCPUs %s takes every online CPU: none is left for pods' % reserved_text)
    if cpu_policy == 'static':
        kube_cpu, problem = _has_cpu(config, 'kubeReserved')
        if problem:
            problems.append(problem)
        system_cpu, problem = _has_cpu(config, 'systemReserved')
        if problem:
            problems.append(problem)
        if not (reserved or kube_cpu or system_cpu):
            problems.append('cpuManagerPolicy static needs reserved CPUs: set reservedSystemCPUs (or a cpu quantity in '
                            'kubeReserved or systemReserved)')

    # Memory manager: reservedMemory per NUMA node must sum to what Node Allocatable reserves.
    memory_policy = config.get('memoryManagerPolicy', 'None')
    if memory_policy not in MEMORY_MANAGER_POLICIES:
        problems.append('memoryManagerPolicy %r is not one of %s (case matters)'
                        % (memory_policy, ', '.join(MEMORY_MANAGER_POLICIES)))
    reserved_memory = config.get('reservedMemory') or []
    if memory_policy == 'Static' and not reserved_memory:
        problems.append('memoryManagerPolicy Static needs reservedMemory (memory reserved per NUMA node)')
    if reserved_memory:
        problems.extend(_reserved_memory_problems(config, reserved_memory, host_numa, memory_policy))

    # Topology manager
    policy = config.get('topologyManagerPolicy')
    if policy is not None and policy not in TOPOLOGY_MANAGER_POLICIES:
        problems.append('topologyManagerPolicy %r is not one of %s' % (policy, ', '.join(TOPOLOGY_MANAGER_POLICIES)))
    scope = config.get('topologyManagerScope')
    if scope is not None and scope not in TOPOLOGY_MANAGER_SCOPES:
        problems.append('topologyManagerScope %r is not one of %s' % (scope, ', '.join(TOPOLOGY_MANAGER_SCOPES)))

    if version is None:
        notes.append('kubelet version unknown: feature gates and version rules not checked')
        return problems, notes
    gate_p, gate_n = gate_problems(gates, version)
    problems.extend(gate_p)
    notes.extend(gate_n)
    v = format_version(version)
    problems.extend(field_problems(config, version))
    if memory_policy == 'Static' and version[:2] >= (1, 21):
        if not gate_enabled(gates, 'MemoryManager', version) and not _locked('MemoryManager', version):
            problems.append('memoryManagerPolicy Static needs the MemoryManager feature gate in kubelet %s (alpha in '
                            '1.21: set featureGates MemoryManager: true)' % v)
    if cpu_policy == 'static' and version[:2] < (1, 26) and not gate_enabled(gates, 'CPUManager', version):
        problems.append('cpuManagerPolicy static needs the CPUManager feature gate in kubelet %s' % v)
    if policy not in (None, 'none') and version[:2] < (1, 27):
        if version[:2] < (1, 16):
            problems.append('topologyManagerPolicy needs kubelet 1.16 or later (kubelet %s)' % v)
        elif not gate_enabled(gates, 'TopologyManager', version):
            problems.append('topologyManagerPolicy %s needs the TopologyManager feature gate in kubelet %s'
                            % (policy, v))
    return problems, notes


def _reserved_memory_problems(config, reserved_memory, host_numa, memory_policy):
    problems = []
    if not isinstance(reserved_memory, list):
        return ['reservedMemory must be a list of {numaNode, limits} entries']
    node_ids = host_numa.get('node_ids') or []
    seen = set()
    total = 0
    complete = True
    for index, entry in enumerate(reserved_memory):
        if not isinstance(entry, dict) or not isinstance(entry.get('numaNode'), int) \
                or isinstance(entry.get('numaNode'), bool):
            problems.append('reservedMemory[%d]: numaNode must be a NUMA node id' % index)
            complete = False
            continue
        node = entry['numaNode']
        if node in seen:
            problems.append('reservedMemory: NUMA node %d is listed twice' % node)
        seen.add(node)
        if node_ids and node not in node_ids:
            problems.append('reservedMemory: NUMA node %d does not exist on this host (nodes: %s)'
                            % (node, ', '.join(str(n) for n in node_ids)))
        limits = entry.get('limits') or {}
        for resource, value in sorted(limits.items()):
            try:
                size = parse_memory(value)
            except ParseError as exc:
                problems.append('reservedMemory node %d %s: %s' % (node, resource, exc))
                complete = complete and resource != 'memory'
                continue
            if resource == 'memory':
                total += size
            elif resource.startswith('hugepages-') and size:
                # The memory manager validates hugepages reservations against reserved hugepages that
                # Node Allocatable does not have: a non-zero entry fails kubelet's validation.
                problems.append('reservedMemory node %d %s is %s: kubelet accepts only 0 for hugepages (keep the '
                                'system\'s hugepages out of the pools instead)' % (node, resource, value))
    kube, problem_k = _reserved_memory(config, 'kubeReserved')
    system, problem_s = _reserved_memory(config, 'systemReserved')
    eviction, problem_e = _eviction_memory(config)
    for problem in (problem_k, problem_s, problem_e):
        if problem:
            problems.append(problem)
    if complete and None not in (kube, system, eviction) and memory_policy == 'Static':
        wanted = kube + system + eviction
        if total != wanted:
            problems.append('reservedMemory memory sums to %s, but kubeReserved + systemReserved + evictionHard '
                            'memory.available = %s (%s + %s + %s): kubelet refuses to start unless they are equal'
                            % (format_memory(total), format_memory(wanted), format_memory(kube),
                               format_memory(system), format_memory(eviction)))
    return problems


# ---------------------------------------------------------------- what a change needs

def state_reset_reasons(before, after):
    """Why kubelet's CPU/memory manager state files must go (kubelet stopped first), comparing effective configs.

    A changed policy makes kubelet refuse its checkpoint (cpu_manager_state/memory_manager_state) and crash-loop.
    Under the static policies the checkpoint also records the reserved CPUs and per-node reserved memory, which
    kubelet checks at start, so a change of those needs the same reset.
    """
    reasons = []
    if before.get('cpuManagerPolicy', 'none') != after.get('cpuManagerPolicy', 'none'):
        reasons.append('cpuManagerPolicy %s -> %s' % (before.get('cpuManagerPolicy', 'none'),
                                                      after.get('cpuManagerPolicy', 'none')))
    elif after.get('cpuManagerPolicy') == 'static' and \
            str(before.get('reservedSystemCPUs', '')) != str(after.get('reservedSystemCPUs', '')):
        reasons.append('reservedSystemCPUs changed under the static CPU manager policy')
    if before.get('memoryManagerPolicy', 'None') != after.get('memoryManagerPolicy', 'None'):
        reasons.append('memoryManagerPolicy %s -> %s' % (before.get('memoryManagerPolicy', 'None'),
                                                         after.get('memoryManagerPolicy', 'None')))
    elif after.get('memoryManagerPolicy') == 'Static' and before.get('reservedMemory') != after.get('reservedMemory'):
        reasons.append('reservedMemory changed under the Static memory manager policy')
    return reasons


def state_files(reasons):
    """The checkpoint files under /var/lib/kubelet to remove for these reasons."""
    files = []
    if any(r.startswith(('cpuManagerPolicy', 'reservedSystemCPUs')) for r in reasons):
        files.append('cpu_manager_state')
    if any(r.startswith(('memoryManagerPolicy', 'reservedMemory')) for r in reasons):
        files.append('memory_manager_state')
    return files


# ---------------------------------------------------------------- the kubelet on this node (detection)

# Where kubelet takes its flags besides its unit: kubeadm's generated flags, then the packages' user files.
FLAG_FILES = (
    ('var/lib/kubelet/kubeadm-flags.env', 'KUBELET_KUBEADM_ARGS'),
    ('etc/default/kubelet', 'KUBELET_EXTRA_ARGS'),
    ('etc/sysconfig/kubelet', 'KUBELET_EXTRA_ARGS'),
)
UNIT_DROPIN_DIRS = ('etc/systemd/system/kubelet.service.d', 'usr/lib/systemd/system/kubelet.service.d',
                    'lib/systemd/system/kubelet.service.d')
BINARY_DIRS = ('usr/bin', 'usr/local/bin', 'usr/sbin', 'bin', 'opt/bin')
DEFAULT_ROOT_DIR = '/var/lib/kubelet'
DEFAULT_CONFIG = '/var/lib/kubelet/config.yaml'
DEFAULT_CONFIG_DIR = '/etc/kubernetes/kubelet.conf.d'


def parse_kubelet_flags(argv):
    """kubelet's command line (argv[1:]) as {flag: value}: --flag=value, --flag value, a bare --flag is 'true'.

    kubelet takes no positional arguments, so a word that does not start with '-' is the previous flag's value
    (boolean flags need --flag=false to be false, as pflag parses them). The last occurrence wins.
    """
    flags = {}
    words = list(argv)
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.startswith('-') or word in ('-', '--'):
            continue
        name = word.lstrip('-')
        if '=' in name:
            name, value = name.split('=', 1)
        elif index < len(words) and not words[index].startswith('-'):
            value = words[index]
            index += 1
        else:
            value = 'true'
        flags[name] = value
    return flags


def split_args(text):
    """Words of a KUBELET_*_ARGS value (quotes as the shell strips them; no expansion)."""
    words, current, quote, started = [], [], None, False
    for char in text or '':
        if quote:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in '"\'':
            quote, started = char, True
        elif char.isspace():
            if current or started:
                words.append(''.join(current))
            current, started = [], False
        else:
            current.append(char)
    if current or started:
        words.append(''.join(current))
    return words


def kubelet_layout(flags):
    """Config file, drop-in directory, root directory and kubeconfig from kubelet's flags (kubeadm defaults)."""
    return {
        'config_path': flags.get('config') or DEFAULT_CONFIG,
        'config_dir': flags.get('config-dir') or None,
        'root_dir': flags.get('root-dir') or DEFAULT_ROOT_DIR,
        'kubeconfig': flags.get('kubeconfig') or None,
        'hostname_override': flags.get('hostname-override') or None,
    }


def hugepage_capacity(hugepages):
    """What kubelet reports as Node capacity for the host's pools: {'hugepages-2Mi': '32Mi', ...}.

    hugepages: the host model's hugepages() section. Every supported size is reported (0 when empty), in the
    canonical form the API server returns (binary suffix, exact), so the strings compare equal.
    """
    capacity = {}
    for pool in (hugepages or {}).get('pools', {}).values():
        size_kb = pool.get('size_kb')
        total = pool.get('nr')
        if not size_kb or total is None:
            continue
        capacity['hugepages-' + format_memory(size_kb * 1024)] = format_memory(size_kb * 1024 * total)
    return capacity


def capacity_difference(wanted, node_status):
    """Lines for every hugepages resource whose Node capacity or allocatable differs from wanted."""
    lines = []
    for field in ('capacity', 'allocatable'):
        reported = (node_status or {}).get(field) or {}
        for resource, value in sorted(wanted.items()):
            got = reported.get(resource)
            same = False
            if got is not None:
                try:
                    same = parse_memory(got) == parse_memory(value)
                except ParseError:
                    same = False
            if not same:
                lines.append('%s %s: node reports %s, the host has %s' % (field, resource, got, value))
    return lines


def parse_cpu_manager_state(text):
    """kubelet's cpu_manager_state checkpoint ({"policyName": ..., "defaultCpuSet": ...}) or None."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_configz(text, where='/configz'):
    """The KubeletConfiguration a running kubelet applied, from its /configz answer.

    kubelet serves {"kubeletconfig": {...}} (kubectl get --raw /api/v1/nodes/<node>/proxy/configz): every field
    after defaulting, the file and drop-ins merged and flags applied, without apiVersion and kind. Raises
    ConfigFileError when the text is not that shape.
    """
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ConfigFileError('%s is not JSON: %s' % (where, exc))
    config = data.get('kubeletconfig') if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise ConfigFileError('%s has no "kubeletconfig" object (found %s)'
                              % (where, ', '.join(sorted(data)) if isinstance(data, dict) else type(data).__name__))
    return config


def _same_value(key, wanted, running):
    if wanted == running:
        return True
    if isinstance(wanted, bool) or isinstance(running, bool) or wanted is None or running is None:
        return False
    if key == 'reservedSystemCPUs':
        try:
            return parse_cpulist(str(wanted)) == parse_cpulist(str(running))
        except ParseError:
            return False
    try:
        # Quantities come back as written, numbers as JSON numbers: compare by value (1024 == "1Ki").
        return parse_quantity(wanted) == parse_quantity(running)
    except ParseError:
        return False


ABSENT = object()


def applied_differences(settings, running, prefix=''):
    """[(path, field, asked, running value or ABSENT)] for every setting a running kubelet's /configz does not show as
    asked. field is the top-level KubeletConfiguration field; nested mappings compare key by key, lists whole (kubelet
    replaces them), CPU lists as sets and quantities by value."""
    found = []
    for key, value in sorted((settings or {}).items()):
        if key in ('apiVersion', 'kind') or value is None:
            continue
        path = prefix + key
        field = (prefix.split('.', 1)[0] or key) if prefix else key
        if key not in running:
            found.append((path, field, value, ABSENT))
        elif isinstance(value, dict) and isinstance(running[key], dict):
            found.extend((p, field, w, r) for p, _f, w, r in applied_differences(value, running[key], path + '.'))
        elif isinstance(value, list) and isinstance(running[key], list):
            if len(value) != len(running[key]) or any(
                    applied_differences(w, r) if isinstance(w, dict) and isinstance(r, dict)
                    else not _same_value(key, w, r) for w, r in zip(value, running[key])):
                found.append((path, field, value, running[key]))
        elif not _same_value(key, value, running[key]):
            found.append((path, field, value, running[key]))
    return found


def applied_difference(settings, running):
    """Lines for every setting a running kubelet's /configz does not show as asked.

    settings: what the role merged (KubeletConfiguration fields); running: parse_configz() of the running kubelet.
    A field absent from /configz is one the kubelet runs without (an older kubelet drops fields it does not know;
    /configz also leaves out empty values); a different value is one a flag or a later drop-in overrides, or a file
    changed since kubelet started.
    """
    lines = []
    for path, _field, asked, got in applied_differences(settings, running):
        if got is ABSENT:
            lines.append('%s: set to %s, absent from /configz' % (path, json.dumps(asked)))
        else:
            lines.append('%s: set to %s, kubelet runs with %s' % (path, json.dumps(asked), json.dumps(got)))
    return lines


# KubeletConfiguration fields whose command-line flag is not the field name in kebab case.
FLAG_ALIASES = {
    'reservedSystemCPUs': 'reserved-cpus',
    'staticPodPath': 'pod-manifest-path',
    'podPidsLimit': 'pod-max-pids',
}


def field_flag(field):
    """kubelet's command-line flag for a KubeletConfiguration field: cpuManagerPolicy -> cpu-manager-policy."""
    if field in FLAG_ALIASES:
        return FLAG_ALIASES[field]
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '-', field).lower()


def _overriding_flag(path, field, flags):
    """The flag (as written on the command line) that sets this setting, or None."""
    name = field_flag(field)
    if name not in (flags or {}):
        return None
    value = flags[name]
    if field == 'featureGates' and '.' in path:
        gate = path.split('.', 1)[1]
        if gate not in [item.split('=', 1)[0].strip() for item in value.split(',')]:
            return None
    return '--%s=%s' % (name, value)


def explain_differences(settings, running, flags=None, config_dir=None, version=None):
    """Every setting the running kubelet does not apply as asked, with its likely cause.

    flags: the running kubelet's flags (kubelet_info); config_dir: its --config-dir (None without); version: its
    version ((major, minor, patch) or None). Returns dicts: setting, asked, running (None when absent), absent,
    flag (the overriding flag or None: a restart does not change those), cause, summary (setting and both values in
    one line), line (the summary with the cause).
    """
    found = []
    for path, field, asked, got in applied_differences(settings, running):
        absent = got is ABSENT
        flag = _overriding_flag(path, field, flags)
        if flag:
            cause = ('the flag %s on kubelet\'s command line overrides the config file (flags win over the file and '
                     'its drop-ins): remove it from the kubelet unit, its systemd drop-ins or the flag files '
                     '(KUBELET_EXTRA_ARGS, kubeadm-flags.env)' % flag)
        elif absent:
            first = FIELD_VERSIONS.get(field)
            cause = ('kubelet%s runs without it: a kubelet older than the field drops it when decoding its file%s '
                     '(/configz also leaves out empty values)'
                     % (' ' + format_version(version) if version else '',
                        ' (%s needs 1.%d)' % (field, first) if first else ''))
        elif config_dir:
            cause = ('not a flag: a drop-in in %s sets it (kubelet merges the *.conf drop-ins over its file in name '
                     'order, the last one wins), or the file changed after kubelet started' % config_dir)
        else:
            cause = 'not a flag and no --config-dir: the file changed after kubelet started, or kubelet changed the value'
        if absent:
            what = '%s: set to %s, absent from /configz' % (path, json.dumps(asked))
        else:
            what = '%s: set to %s, kubelet runs with %s' % (path, json.dumps(asked), json.dumps(got))
        found.append({'setting': path, 'asked': asked, 'running': None if absent else got, 'absent': absent,
                      'flag': flag, 'cause': cause, 'summary': what, 'line': '%s (%s)' % (what, cause)})
    return found


def cpu_assignments(state):
    """The static CPU manager's checkpoint as CPU lists: policy, the shared pool, and exclusive CPUs per container.

    state: parse_cpu_manager_state() of cpu_manager_state ({"policyName", "defaultCpuSet", "entries": {pod UID:
    {container: cpulist}}, "checksum"}). Returns None for anything else. 'exclusive' lists every CPU given to a
    container; under the static policy the shared pool and the exclusive CPUs never overlap.
    """
    if not isinstance(state, dict) or not isinstance(state.get('policyName'), str):
        return None
    try:
        shared = parse_cpulist(state.get('defaultCpuSet') or '')
        containers = {}
        for pod, entries in sorted((state.get('entries') or {}).items()):
            for container, cpus in sorted((entries or {}).items()):
                containers['%s/%s' % (pod, container)] = parse_cpulist(cpus)
    except (ParseError, AttributeError, TypeError):
        return None
    exclusive = sorted(set(cpu for cpus in containers.values() for cpu in cpus))
    return {'policy': state['policyName'], 'shared': shared, 'containers': containers, 'exclusive': exclusive}


def memory_state_reserved(state):
    """Per NUMA node, what a Static memory manager checkpoint recorded as reserved for the system (bytes).

    kubelet compares these with reservedMemory at start and refuses a checkpoint that differs, so a node whose
    reservedMemory changed needs memory_manager_state removed (state_reset_reasons). Returns {node id: {resource:
    bytes}} from machineState[*].memoryMap[*].systemReserved, {} for the None policy's empty machineState.
    """
    reserved = {}
    for node, cell in sorted(((state or {}).get('machineState') or {}).items()):
        memory_map = (cell or {}).get('memoryMap') or {}
        reserved[int(node)] = dict((resource, int(block.get('systemReserved') or 0))
                                   for resource, block in sorted(memory_map.items()))
    return reserved


def reserved_memory_bytes(config):
    """reservedMemory of a KubeletConfiguration as {node id: {resource: bytes}} (resources not listed are 0)."""
    found = {}
    for entry in config.get('reservedMemory') or []:
        limits = dict((resource, parse_memory(value)) for resource, value in (entry.get('limits') or {}).items())
        found[entry['numaNode']] = limits
    return found


class KubeletHost:
    """The kubelet on a host, read through the host model's HostFS (an injectable root, as everywhere).

    Reads the running kubelet's command line from /proc, the flag files kubeadm and the packages use, the unit
    drop-ins and the manager checkpoints. Never runs anything: the module runs `kubelet --version`.
    """

    def __init__(self, fs):
        self.fs = fs

    def binary(self, name):
        """Host path of the kubelet binary (absolute name or searched in the usual directories), or None."""
        if name.startswith('/'):
            return name if self.fs.exists(name.lstrip('/')) else None
        for directory in BINARY_DIRS:
            if self.fs.exists(directory + '/' + name):
                return '/' + directory + '/' + name
        return None

    def processes(self):
        """[(pid, argv)] of running kubelets (argv[0]'s basename is kubelet)."""
        found = []
        for entry in self.fs.listdir('proc'):
            if not entry.isdigit():
                continue
            raw = self.fs.read('proc/%s/cmdline' % entry)
            if not raw:
                continue
            argv = raw.split('\0')
            while argv and argv[-1] == '':
                argv.pop()
            if argv and argv[0].rsplit('/', 1)[-1] == 'kubelet':
                found.append((int(entry), argv))
        return sorted(found)

    def flag_files(self):
        """{path: [words]} of the flag files present."""
        files = {}
        for rel, variable in FLAG_FILES:
            text = self.fs.read(rel)
            if text is not None:
                files['/' + rel] = split_args(parse_shell_assignments(text).get(variable, ''))
        return files

    def unit_dropins(self):
        return ['/%s/%s' % (d, n) for d in UNIT_DROPIN_DIRS for n in self.fs.listdir(d) if n.endswith('.conf')]

    def state(self, root_dir):
        """The CPU and memory manager checkpoints under kubelet's root directory (None when absent)."""
        base = root_dir.strip('/')
        cpu = self.fs.read(base + '/cpu_manager_state')
        memory = self.fs.read(base + '/memory_manager_state')
        return {'cpu_manager_state': parse_cpu_manager_state(cpu) if cpu is not None else None,
                'memory_manager_state': parse_cpu_manager_state(memory) if memory is not None else None}

    def describe(self, binary_name):
        """Everything the kubelet role needs to know, as plain data."""
        processes = self.processes()
        files = self.flag_files()
        if processes:
            pid, argv = processes[0]
            flags = parse_kubelet_flags(argv[1:])
            source = 'running'
        else:
            pid, argv = None, []
            flags = {}
            for words in files.values():
                flags.update(parse_kubelet_flags(words))
            source = 'flag files' if files else 'defaults'
        layout = kubelet_layout(flags)
        return dict(layout, binary=self.binary(binary_name), running=bool(processes), pid=pid, args=argv[1:],
                    flags=flags, flags_from=source, flag_files=files, unit_dropins=self.unit_dropins(),
                    state=self.state(layout['root_dir']))


# ---------------------------------------------------------------- DPDK pod resources and volumes

def _page_size_bytes(size):
    """'2M', '2Mi', '2MB', '1G', '1Gi', 2097152 -> bytes of a hugepage size."""
    text = str(size).strip()
    if text.endswith('B'):
        text = text[:-1]
    if text[-1:] in ('K', 'M', 'G'):
        text += 'i'
    return parse_memory(text)


def _version_tuple(version):
    if version is None or isinstance(version, tuple):
        return version
    return parse_version(version)


def pod_resources(needs, facts, version=None, feature_gates=None):
    """The resources, volumes, mounts and capabilities of a DPDK container, validated against the node's facts.

    needs: cpu, memory (quantities; requests == limits, Guaranteed QoS), hugepages ({size: amount} or a list of
    {size, amount}), shm (size of /dev/shm), devices ({resource name: count}, e.g. SR-IOV VFs), hugepages_path.
    facts: the dataplane fact (node_facts); its hugepage pools decide which sizes exist and how much there is.
    version: the kubelet version ('1.20', 'v1.29.3', (1, 20, 0)); feature_gates: the kubelet's featureGates.
    Returns a dict (resources, volumes, volumeMounts, securityContext, notes); raises KubeletConfigError with
    every problem.
    """
    problems, notes = [], []
    needs = dict(needs or {})
    try:
        version = _version_tuple(version)
    except ParseError as exc:
        problems.append('version: %s' % exc)
        version = None
    pools = ((facts or {}).get('hugepages') or {}).get('pools') or {}
    by_bytes = {}
    for pool in pools.values():
        if pool.get('size_kb'):
            by_bytes[pool['size_kb'] * 1024] = pool

    quantities = {}
    for key in ('cpu', 'memory'):
        value = needs.get(key)
        if value is None:
            problems.append('%s is required: hugepages need a cpu or memory request, and exclusive CPUs need '
                            'Guaranteed QoS (cpu and memory requests equal to limits)' % key)
            continue
        try:
            quantities[key] = parse_quantity(value)
        except ParseError as exc:
            problems.append('%s: %s' % (key, exc))
            continue
        if quantities[key] <= 0:
            problems.append('%s must be more than 0' % key)
    if 'cpu' in quantities and quantities['cpu'] > 0 and quantities['cpu'].denominator != 1:
        notes.append('cpu %s is not a whole number: the static CPU manager gives exclusive CPUs only to whole-CPU '
                     'Guaranteed containers' % needs['cpu'])

    hugepages = needs.get('hugepages') or {}
    if isinstance(hugepages, dict):
        hugepages = [{'size': size, 'amount': amount} for size, amount in sorted(hugepages.items(), key=str)]
    wanted = []
    for index, entry in enumerate(hugepages):
        if not isinstance(entry, dict) or 'size' not in entry or 'amount' not in entry:
            problems.append('hugepages[%d]: give size and amount' % index)
            continue
        try:
            page = _page_size_bytes(entry['size'])
            amount = parse_memory(entry['amount'])
        except (ParseError, IndexError) as exc:
            problems.append('hugepages %s: %s' % (entry.get('size'), exc))
            continue
        name = format_memory(page)
        pool = by_bytes.get(page)
        if pool is None:
            problems.append('hugepages-%s: the node has no %s pages (sizes: %s)' % (
                name, name, ', '.join(sorted((format_memory(b) for b in by_bytes), key=parse_memory)) or 'none'))
            continue
        if amount <= 0 or amount % page:
            problems.append('hugepages-%s %s is not a positive multiple of the page size %s'
                            % (name, entry['amount'], name))
            continue
        total = (pool.get('nr') or 0) * page
        if amount > total:
            problems.append('hugepages-%s %s is more than the node has (%d pages, %s): kubelet rejects the pod '
                            '(OutOfhugepages-%s)' % (name, entry['amount'], pool.get('nr') or 0,
                                                     format_memory(total), name))
            continue
        wanted.append((name, amount))
    if not hugepages:
        notes.append('no hugepages asked: DPDK needs hugepages unless it runs with --no-huge')

    shm = needs.get('shm')
    shm_bytes = None
    if shm is not None:
        try:
            shm_bytes = parse_memory(shm)
        except ParseError as exc:
            problems.append('shm: %s' % exc)
        if shm_bytes is not None and 'memory' in quantities and shm_bytes > quantities['memory']:
            problems.append('shm %s is more than the memory limit %s: /dev/shm pages count against the container\'s '
                            'memory' % (shm, needs['memory']))
        if shm_bytes is not None and version is not None:
            gates = feature_gates or {}
            v = format_version(version)
            if version[:2] < (1, 20):
                notes.append('kubelet %s cannot size a memory-backed emptyDir: /dev/shm gets the kernel default (half '
                             'the node\'s RAM); sizeLimit only evicts the pod' % v)
            elif not gate_enabled(gates, 'SizeMemoryBackedVolumes', version):
                notes.append('kubelet %s sizes /dev/shm to sizeLimit only with the SizeMemoryBackedVolumes feature '
                             'gate (alpha, off by default in 1.20 and 1.21): without it the tmpfs is half the '
                             'node\'s RAM' % v)
    devices = needs.get('devices') or {}
    for resource, count in sorted(devices.items()):
        if '/' not in str(resource) or not isinstance(count, int) or isinstance(count, bool) or count < 1:
            problems.append('devices %s: %r: give an extended resource name (vendor/name) and a count of 1 or more'
                            % (resource, count))
    if problems:
        raise KubeletConfigError(problems)

    requests = {'cpu': str(needs['cpu']), 'memory': str(needs['memory'])}
    for name, amount in wanted:
        requests['hugepages-' + name] = format_memory(amount)
    for resource, count in sorted(devices.items()):
        requests[resource] = str(count)
    volumes, mounts = [], []
    base = needs.get('hugepages_path') or '/hugepages'
    if len(wanted) == 1:
        volumes.append({'name': 'hugepages', 'emptyDir': {'medium': 'HugePages'}})
        mounts.append({'name': 'hugepages', 'mountPath': base})
    else:
        for name, _amount in wanted:
            volume = 'hugepages-' + name.lower()
            volumes.append({'name': volume, 'emptyDir': {'medium': 'HugePages-' + name}})
            mounts.append({'name': volume, 'mountPath': '%s-%s' % (base, name)})
    if shm_bytes is not None:
        volumes.append({'name': 'shm', 'emptyDir': {'medium': 'Memory', 'sizeLimit': format_memory(shm_bytes)}})
        mounts.append({'name': 'shm', 'mountPath': '/dev/shm'})
    return {
        'resources': {'requests': dict(requests), 'limits': dict(requests)},
        'volumes': volumes,
        'volumeMounts': mounts,
        'securityContext': {'capabilities': {'add': ['IPC_LOCK']}},
        'notes': notes,
    }
