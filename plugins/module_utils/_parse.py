# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers and formatters for kernel data.

Private to the dataplane.node collection: names may change without notice.
Nothing here touches files or Ansible; every function takes text and returns data
or raises ParseError, so they are unit tested on literal strings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


class ParseError(ValueError):
    """A value the kernel (or a user) gave that does not follow its syntax."""


# ---------------------------------------------------------------- cpulists

def parse_cpulist(text):
    """Parse the kernel's cpulist syntax into a sorted list of unique ints.

    Accepts '0-3,8-11', '0,2', '' (empty set), and the stride form the kernel
    also documents for isolcpus and friends: '0-15:2/4' (ranges of 2 out of
    every 4). Whitespace and a trailing newline are ignored.
    """
    text = (text or '').strip()
    if not text:
        return []
    cpus = set()
    for part in text.split(','):
        part = part.strip()
        if not part:
            raise ParseError('empty element in cpulist %r' % text)
        stride_used = stride_group = None
        if ':' in part:
            part, _sep, stride = part.partition(':')
            m = re.match(r'^(\d+)/(\d+)$', stride)
            if not m:
                raise ParseError('bad stride %r in cpulist %r' % (stride, text))
            stride_used, stride_group = int(m.group(1)), int(m.group(2))
            if stride_used <= 0 or stride_group <= 0 or stride_used > stride_group:
                raise ParseError('bad stride %r in cpulist %r' % (stride, text))
        m = re.match(r'^(\d+)(?:-(\d+))?$', part)
        if not m:
            raise ParseError('bad element %r in cpulist %r' % (part, text))
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) is not None else first
        if last < first:
            raise ParseError('descending range %r in cpulist %r' % (part, text))
        if stride_group is None:
            cpus.update(range(first, last + 1))
        else:
            for start in range(first, last + 1, stride_group):
                cpus.update(range(start, min(start + stride_used, last + 1)))
    return sorted(cpus)


def format_cpulist(cpus):
    """Format CPU ids in the kernel's compact form: [0,1,2,3,8] -> '0-3,8'."""
    ids = sorted(set(int(c) for c in cpus))
    parts = []
    start = prev = None
    for cpu in ids:
        if start is None:
            start = prev = cpu
        elif cpu == prev + 1:
            prev = cpu
        else:
            parts.append(_range_text(start, prev))
            start = prev = cpu
    if start is not None:
        parts.append(_range_text(start, prev))
    return ','.join(parts)


def _range_text(first, last):
    return str(first) if first == last else '%d-%d' % (first, last)


# Special words isolcpus/nohz_full accept before or instead of a cpulist.
_ISOLCPUS_FLAGS = ('nohz', 'domain', 'managed_irq')


def parse_isolcpus(value):
    """Split an isolcpus= value into (flags, cpus): 'managed_irq,domain,2-5' -> (['managed_irq', 'domain'], [2..5])."""
    flags = []
    parts = (value or '').split(',')
    while parts and parts[0] in _ISOLCPUS_FLAGS:
        flags.append(parts.pop(0))
    return flags, parse_cpulist(','.join(parts))


# ---------------------------------------------------------------- sizes

_UNITS = {
    '': 1, 'b': 1,
    'k': 1024, 'kb': 1024, 'kib': 1024,
    'm': 1024 ** 2, 'mb': 1024 ** 2, 'mib': 1024 ** 2,
    'g': 1024 ** 3, 'gb': 1024 ** 3, 'gib': 1024 ** 3,
    't': 1024 ** 4, 'tb': 1024 ** 4, 'tib': 1024 ** 4,
}
_SIZE_RE = re.compile(r'^\s*(?:hugepages-)?(\d+)\s*([a-zA-Z]*)\s*$')


_REMAPPED_CHIP = re.compile(r'\sIR-[A-Za-z]')


def interrupts_remapped(text):
    """Whether /proc/interrupts shows remapped interrupts (chips named IR-PCI-MSI, IR-IO-APIC, ... on Intel VT-d
    and AMD-Vi): the kernel's own view, which the IOMMU's capability bits alone do not give (intremap=off, or
    QEMU's intel-iommu without intremap). None when the file is not there to tell."""
    if text is None:
        return None
    return bool(_REMAPPED_CHIP.search(text))


def parse_size(text, default_unit=''):
    """Parse a memory size into bytes, binary units as the kernel means them.

    '2M', '2MB', '2Mi', '1G', '1048576kB', 'hugepages-2048kB' (a sysfs directory
    name), '4096' (bytes, or `default_unit` when given: meminfo counts kB).
    Kubernetes' 'Mi'/'Gi' spellings are accepted too.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text * _UNITS[default_unit.lower()]
    m = _SIZE_RE.match(str(text or ''))
    if not m:
        raise ParseError('not a size: %r' % (text,))
    number, unit = int(m.group(1)), m.group(2).lower()
    if unit.endswith('i') and unit + 'b' in _UNITS:
        unit += 'b'
    if not unit:
        unit = default_unit.lower()
    if unit not in _UNITS:
        raise ParseError('unknown unit %r in size %r' % (m.group(2), text))
    return number * _UNITS[unit]


def parse_size_kb(text):
    """Size in KiB, the unit sysfs hugepage directories and meminfo use. Must be whole KiB."""
    size = parse_size(text)
    if size % 1024:
        raise ParseError('size %r is not a whole number of KiB' % (text,))
    return size // 1024


def format_size(size_bytes):
    """Shortest exact binary form: 2097152 -> '2M', 1073741824 -> '1G', 1536 -> '1536'."""
    size_bytes = int(size_bytes)
    for unit, factor in (('T', 1024 ** 4), ('G', 1024 ** 3), ('M', 1024 ** 2), ('K', 1024)):
        if size_bytes and size_bytes % factor == 0:
            return '%d%s' % (size_bytes // factor, unit)
    return str(size_bytes)


def format_size_kb(size_kb):
    return format_size(int(size_kb) * 1024)


def hugepage_dirname(size_kb):
    """The sysfs directory name of a hugepage size: 2048 -> 'hugepages-2048kB'."""
    return 'hugepages-%dkB' % int(size_kb)


# ---------------------------------------------------------------- kernel command lines

_KERNEL_SPACE = ' \t\n\v\f\r'
INIT_SEPARATOR = '--'


def tokenize_cmdline(text, strict=True):
    """Split a kernel command line into tokens the way the kernel's next_arg() (lib/cmdline.c) does.

    Whitespace separates tokens except inside double quotes; a quote toggles quoting wherever it
    stands in the token ("a=b c", a="b c", a=b" "c). The quotes stay in the token so that joining
    tokens with spaces gives back the same line, byte for byte per token.
    strict: an unbalanced quote is an error (a configuration we would write); without it the rest
    of the line is one last token, as the kernel reads it.
    """
    tokens = []
    current = []
    in_quote = False
    for char in (text or '').strip(_KERNEL_SPACE):
        if char == '"':
            in_quote = not in_quote
        if char in _KERNEL_SPACE and not in_quote:
            if current:
                tokens.append(''.join(current))
                current = []
            continue
        current.append(char)
    if in_quote and strict:
        raise ParseError('unbalanced double quote in kernel command line %r' % text)
    if current:
        tokens.append(''.join(current))
    return tokens


def split_init(tokens):
    """(kernel tokens, init tokens, separator seen): the kernel's parse_args() stops at the first bare
    `--`; what follows is init's argv, never a kernel parameter."""
    tokens = list(tokens)
    if INIT_SEPARATOR in tokens:
        index = tokens.index(INIT_SEPARATOR)
        return tokens[:index], tokens[index + 1:], True
    return tokens, [], False


def join_init(kernel, init, separator):
    return list(kernel) + ([INIT_SEPARATOR] + list(init) if separator else [])


def kernel_tokens(tokens):
    return split_init(tokens)[0]


# What `sh` treats specially inside double quotes: escaped so that sourcing gives the value back.
_SH_DOUBLE_QUOTE_SPECIAL = re.compile(r'([\\"$`])')


def shell_quote(value):
    """A value as a double-quoted sh word: `. file` (grub-mkconfig sources /etc/default/grub) yields
    `value` again, quotes and backslashes included (dyndbg="a b" -> "dyndbg=\\"a b\\"")."""
    return '"%s"' % _SH_DOUBLE_QUOTE_SPECIAL.sub(r'\\\1', value)


def shell_unquote(raw):
    """The value of one sh assignment word (`"..."`, `'...'`, bare, or several glued together), as
    sourcing the file gives it; None when it needs the shell (unquoted `$`, backquote, unclosed quote).
    A trailing ` # comment` after the word is dropped, as sh does."""
    out = []
    i = 0
    n = len(raw)
    while i < n:
        char = raw[i]
        if char in ' \t':
            rest = raw[i:].strip()
            return ''.join(out) if not rest or rest.startswith('#') or rest == ';' else None
        if char == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1:end])
            i = end + 1
        elif char == '"':
            i += 1
            while i < n and raw[i] != '"':
                if raw[i] == '\\' and i + 1 < n and raw[i + 1] in '\\"$`\n':
                    out.append(raw[i + 1])
                    i += 2
                    continue
                if raw[i] in '$`':
                    return None
                out.append(raw[i])
                i += 1
            if i >= n:
                return None
            i += 1
        elif char == '\\' and i + 1 < n:
            out.append(raw[i + 1])
            i += 2
        elif char in '$`':
            return None
        elif char == ';':
            return ''.join(out) if not raw[i + 1:].strip() else None
        else:
            out.append(char)
            i += 1
    return ''.join(out)


def split_grub_words(text):
    """Words of a grub.cfg command line (GRUB script: '...', "..." and backslash quote), each kept
    raw so that writing them back gives the same bytes."""
    words = []
    current = []
    quote = None
    i = 0
    text = text or ''
    while i < len(text):
        char = text[i]
        if quote is None and char in ' \t':
            if current:
                words.append(''.join(current))
                current = []
            i += 1
            continue
        if char == '\\' and quote != "'" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if char in '"\'' and quote in (None, char):
            quote = None if quote else char
        current.append(char)
        i += 1
    if quote:
        raise ParseError('unbalanced %s quote in GRUB command %r' % (quote, text))
    if current:
        words.append(''.join(current))
    return words


def grub_boot_form(word):
    """What GRUB passes to the kernel for one grub.cfg word (grub_create_loader_cmdline): quotes and
    escapes resolved, then the argument wrapped in double quotes if it holds a space, with \\ ' "
    escaped by a backslash. dyndbg="module igb +p" boots as "dyndbg=module igb +p"."""
    value = []
    quote = None
    i = 0
    while i < len(word):
        char = word[i]
        if char == '\\' and quote != "'" and i + 1 < len(word):
            value.append(word[i + 1])
            i += 2
            continue
        if char in '"\'' and quote in (None, char):
            quote = None if quote else char
        else:
            value.append(char)
        i += 1
    plain = ''.join(value)
    escaped = re.sub(r'([\\\'"])', r'\\\1', plain)
    return '"%s"' % escaped if ' ' in plain else escaped


def split_arg(token):
    """'key=value' -> ('key', 'value'); a bare flag 'quiet' -> ('quiet', None), as next_arg() reads them.

    The first '=' separates (root=UUID=... keeps its value). A token that opens with a quote loses it
    and its closing quote ("a=b c" -> a, 'b c'); a value that opens with one loses it and a closing
    one (a="b c" -> a, 'b c'); quotes elsewhere stay in the value, as the kernel leaves them.
    """
    quoted = token.startswith('"')
    body = token[1:] if quoted else token
    key, sep, value = body.partition('=')
    if not sep:
        if quoted and key.endswith('"'):
            key = key[:-1]
        return key, None
    value_quoted = value.startswith('"')
    if value_quoted:
        value = value[1:]
    if (quoted or value_quoted) and value.endswith('"'):
        value = value[:-1]
    return key, value


def normalize_key(key):
    """The kernel compares parameter names treating '-' and '_' alike (parameq)."""
    return key.replace('-', '_')


def parse_cmdline(text, strict=True):
    """Parse a kernel command line.

    Returns a dict:
      raw:   the line as given (stripped)
      args:  ordered list of {'key', 'value'} for kernel arguments; value None for bare flags
      init_args: tokens after '--' (passed to init, not the kernel)
      params: {normalized key: [values in order]}; a bare flag records None. Repeated keys
              (hugepagesz=2M hugepages=512 hugepagesz=1G hugepages=4) keep every value in order.
    """
    tokens, init_args, _separator = split_init(tokenize_cmdline(text, strict))
    args = []
    params = {}
    for token in tokens:
        key, value = split_arg(token)
        args.append({'key': key, 'value': value})
        params.setdefault(normalize_key(key), []).append(value)
    return {
        'raw': (text or '').strip(),
        'args': args,
        'init_args': init_args,
        'params': params,
    }


def cmdline_value(parsed, key, default=None):
    """The value the kernel acts on for a single-valued parameter: the last one given."""
    values = parsed['params'].get(normalize_key(key))
    if not values:
        return default
    return values[-1]


def cmdline_has(parsed, key):
    return normalize_key(key) in parsed['params']


_HUGEPAGES_NODE_RE = re.compile(r'^\d+:\d+(,\d+:\d+)*$')


def parse_boot_hugepages(parsed):
    """Hugepage pools requested on a parsed command line, in the kernel's own terms.

    The kernel reads hugepagesz=/hugepages= pairs in order: a hugepages= applies to the
    hugepagesz= before it, or to the default size when none came before.
    Returns {'default_size_kb': int or None,
             'pools': [{'size_kb': int or None (default size), 'count': int or None, 'nodes': {node: count} or None}]}.
    """
    default_size = None
    pools = []
    current = None
    for arg in parsed['args']:
        key = normalize_key(arg['key'])
        value = arg['value']
        if key == 'default_hugepagesz' and value:
            default_size = parse_size_kb(value)
        elif key == 'hugepagesz' and value:
            current = parse_size_kb(value)
        elif key == 'hugepages' and value is not None:
            pools.append(dict(size_kb=current, **parse_hugepages_value(value)))
    return {'default_size_kb': default_size, 'pools': pools}


def parse_hugepages_value(value):
    """'16' -> total 16; '0:2,1:4' (Linux >= 5.16) -> per node."""
    value = value.strip()
    if value.isdigit():
        return {'count': int(value), 'nodes': None}
    if _HUGEPAGES_NODE_RE.match(value):
        nodes = {}
        for pair in value.split(','):
            node, count = pair.split(':')
            nodes[int(node)] = int(count)
        return {'count': sum(nodes.values()), 'nodes': nodes}
    raise ParseError('bad hugepages= value %r' % value)


# ---------------------------------------------------------------- small sysfs value parsers

def parse_int(text, base=10):
    """An int from a sysfs value, or None for empty/garbage. '0x8086' needs base=16 or 0."""
    text = (text or '').strip()
    if not text:
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def parse_bracketed_choice(text):
    """'always [madvise] never' -> ('madvise', ['always', 'madvise', 'never'])."""
    choices = []
    selected = None
    for word in (text or '').split():
        if word.startswith('[') and word.endswith(']'):
            word = word[1:-1]
            selected = word
        choices.append(word)
    return selected, choices


def parse_keyed_kb(text, strip_prefix=None):
    """Parse meminfo-style 'Key:   123 kB' lines into {key: int}. Node meminfo lines
    start with 'Node 0 ', removed when strip_prefix is True."""
    values = {}
    for line in (text or '').splitlines():
        if strip_prefix:
            parts = line.split(None, 2)
            if len(parts) < 3 or parts[0] != 'Node':
                continue
            line = parts[2]
        key, sep, rest = line.partition(':')
        if not sep:
            continue
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key.strip()] = int(fields[0])
    return values


_PCI_ADDR_RE = re.compile(r'^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$')


def normalize_pci_address(text):
    """'3b:00.0' -> '0000:3b:00.0'; raises ParseError on anything else."""
    m = _PCI_ADDR_RE.match((text or '').strip())
    if not m:
        raise ParseError('not a PCI address: %r' % (text,))
    domain = m.group(1) or '0000'
    return ('%s:%s:%s.%s' % (domain, m.group(2), m.group(3), m.group(4))).lower()


def parse_os_release(text):
    """Parse /etc/os-release (shell-style KEY=value, values maybe quoted)."""
    info = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, _sep, value = line.partition('=')
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        info[key.strip()] = value
    return info


def parse_shell_assignments(text):
    """Variables of a /etc/default/grub style file: KEY=value lines (the last one wins), each value as
    sourcing the file gives it ("..." with its backslash escapes, '...', bare words).

    Not a shell: a value that needs one (`$(...)`, `$VAR`, a backquote) is kept as written without its
    outer quotes, so that a caller can see the `$` and refuse to edit it; lines it cannot read are left out.
    """
    values = {}
    for line in (text or '').splitlines():
        m = re.match(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$', line)
        if not m:
            continue
        raw = m.group(2).strip()
        value = shell_unquote(raw)
        if value is None:
            if len(raw) > 1 and raw[0] == raw[-1] and raw[0] in '"\'':
                value = raw[1:-1]
            elif raw.startswith(('"', "'")):
                continue
            else:
                value = raw.split('#', 1)[0].strip()
        values[m.group(1)] = value
    return values


def parse_mounts(text):
    """Parse /proc/mounts lines into dicts (octal escapes like \\040 decoded)."""
    mounts = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        options = {}
        for opt in fields[3].split(','):
            key, sep, value = opt.partition('=')
            options[key] = value if sep else True
        mounts.append({
            'source': _unescape_mount(fields[0]),
            'path': _unescape_mount(fields[1]),
            'fstype': fields[2],
            'options': options,
        })
    return mounts


def _unescape_mount(text):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), text)


def parse_route_table(text):
    """Default-route interfaces from /proc/net/route (IPv4): destination and mask 00000000."""
    devices = []
    for line in (text or '').splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == '00000000' and fields[7] == '00000000':
            if fields[0] not in devices:
                devices.append(fields[0])
    return devices


def parse_ipv6_route_table(text):
    """Default-route interfaces from /proc/net/ipv6_route: ::/0 with a gateway, not the loopback."""
    devices = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) >= 10 and fields[0] == '0' * 32 and fields[1] == '00' and fields[9] != 'lo':
            if fields[4] != '0' * 32 and fields[9] not in devices:
                devices.append(fields[9])
    return devices
