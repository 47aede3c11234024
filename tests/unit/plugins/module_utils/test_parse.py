# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import subprocess

import pytest

from ansible_collections.dataplane.node.plugins.module_utils import _parse as p


@pytest.mark.parametrize('text, expected', [
    ('0-3,8-11', [0, 1, 2, 3, 8, 9, 10, 11]),
    ('0', [0]),
    ('', []),
    ('\n', []),
    ('5,1,3-4\n', [1, 3, 4, 5]),
    ('0-1,1-2', [0, 1, 2]),
    ('0-15:2/4', [0, 1, 4, 5, 8, 9, 12, 13]),
    ('2-9:1/3', [2, 5, 8]),
])
def test_parse_cpulist(text, expected):
    assert p.parse_cpulist(text) == expected


@pytest.mark.parametrize('text', ['a', '3-1', '1,,2', '0-3:5/4', '0-3:0/4', '1-', '-1', '0x1'])
def test_parse_cpulist_rejects(text):
    with pytest.raises(p.ParseError):
        p.parse_cpulist(text)


@pytest.mark.parametrize('cpus, expected', [
    ([0, 1, 2, 3, 8, 9, 10, 11], '0-3,8-11'),
    ([5], '5'),
    ([], ''),
    ([3, 1, 2, 2], '1-3'),
    ([0, 2, 4], '0,2,4'),
])
def test_format_cpulist(cpus, expected):
    assert p.format_cpulist(cpus) == expected


def test_cpulist_round_trip():
    cpus = [0, 1, 2, 7, 9, 10, 64, 65, 66, 255]
    assert p.parse_cpulist(p.format_cpulist(cpus)) == cpus


@pytest.mark.parametrize('value, flags, cpus', [
    ('2-5', [], [2, 3, 4, 5]),
    ('managed_irq,domain,2-5,8', ['managed_irq', 'domain'], [2, 3, 4, 5, 8]),
    ('nohz,1', ['nohz'], [1]),
])
def test_parse_isolcpus(value, flags, cpus):
    assert p.parse_isolcpus(value) == (flags, cpus)


@pytest.mark.parametrize('text, expected', [
    ('2M', 2 * 1024 ** 2),
    ('2MB', 2 * 1024 ** 2),
    ('2Mi', 2 * 1024 ** 2),
    ('1G', 1024 ** 3),
    ('1Gi', 1024 ** 3),
    ('1048576kB', 1024 ** 3),
    ('hugepages-2048kB', 2 * 1024 ** 2),
    ('hugepages-1048576kB', 1024 ** 3),
    ('4096', 4096),
    (' 64k ', 64 * 1024),
])
def test_parse_size(text, expected):
    assert p.parse_size(text) == expected


def test_parse_size_default_unit():
    assert p.parse_size('2048', default_unit='kb') == 2 * 1024 ** 2


@pytest.mark.parametrize('text', ['', 'two', '2X', '-2M', '2.5G', None])
def test_parse_size_rejects(text):
    with pytest.raises(p.ParseError):
        p.parse_size(text)


def test_parse_size_kb():
    assert p.parse_size_kb('1G') == 1048576
    assert p.parse_size_kb('hugepages-2048kB') == 2048
    with pytest.raises(p.ParseError):
        p.parse_size_kb('1536')  # bytes, not a whole KiB


@pytest.mark.parametrize('size, expected', [
    (2 * 1024 ** 2, '2M'), (1024 ** 3, '1G'), (1536, '1536'), (64 * 1024, '64K'), (3 * 1024 ** 3 // 2, '1536M'),
])
def test_format_size(size, expected):
    assert p.format_size(size) == expected


def test_format_size_kb_and_dirname():
    assert p.format_size_kb(1048576) == '1G'
    assert p.hugepage_dirname(2048) == 'hugepages-2048kB'


def test_tokenize_cmdline_quotes():
    line = 'BOOT_IMAGE=/vmlinuz root=UUID=ab-cd ro quiet dyndbg="file foo.c +p" "param with=space" x=\n'
    assert p.tokenize_cmdline(line) == [
        'BOOT_IMAGE=/vmlinuz', 'root=UUID=ab-cd', 'ro', 'quiet', 'dyndbg="file foo.c +p"', '"param with=space"', 'x=']


def test_tokenize_cmdline_unbalanced():
    with pytest.raises(p.ParseError):
        p.tokenize_cmdline('a="b c')


def test_split_arg():
    assert p.split_arg('root=UUID=ab-cd') == ('root', 'UUID=ab-cd')
    assert p.split_arg('quiet') == ('quiet', None)
    assert p.split_arg('dyndbg="file foo.c +p"') == ('dyndbg', 'file foo.c +p')
    assert p.split_arg('"param with=space"') == ('param with', 'space')
    assert p.split_arg('x=') == ('x', '')


def test_parse_cmdline_repeated_keys_and_init_args():
    parsed = p.parse_cmdline('ro hugepagesz=2M hugepages=512 hugepagesz=1G hugepages=4 intel-iommu=on -- single x=1')
    assert parsed['args'] == [
        {'key': 'ro', 'value': None},
        {'key': 'hugepagesz', 'value': '2M'},
        {'key': 'hugepages', 'value': '512'},
        {'key': 'hugepagesz', 'value': '1G'},
        {'key': 'hugepages', 'value': '4'},
        {'key': 'intel-iommu', 'value': 'on'},
    ]
    assert parsed['params'] == {'ro': [None], 'hugepagesz': ['2M', '1G'], 'hugepages': ['512', '4'],
                                'intel_iommu': ['on']}
    assert parsed['init_args'] == ['single', 'x=1']
    assert p.cmdline_value(parsed, 'hugepages') == '4'
    assert p.cmdline_value(parsed, 'intel_iommu') == 'on'
    assert p.cmdline_value(parsed, 'missing', 'dflt') == 'dflt'
    assert p.cmdline_has(parsed, 'ro') and not p.cmdline_has(parsed, 'single')


def test_parse_boot_hugepages():
    parsed = p.parse_cmdline('hugepages=64 default_hugepagesz=1G hugepagesz=1G hugepages=0:2,1:6 hugepagesz=2M hugepages=512')
    assert p.parse_boot_hugepages(parsed) == {
        'default_size_kb': 1048576,
        'pools': [
            {'size_kb': None, 'count': 64, 'nodes': None},
            {'size_kb': 1048576, 'count': 8, 'nodes': {0: 2, 1: 6}},
            {'size_kb': 2048, 'count': 512, 'nodes': None},
        ]}


@pytest.mark.parametrize('value', ['0:2,', 'x', '0:2;1:3', '-1'])
def test_parse_hugepages_value_rejects(value):
    with pytest.raises(p.ParseError):
        p.parse_hugepages_value(value)


@pytest.mark.parametrize('text, base, expected', [
    ('42\n', 10, 42), ('-1\n', 10, -1), ('', 10, None), ('garbage', 10, None), (None, 10, None), ('0x8086', 16, 0x8086),
])
def test_parse_int(text, base, expected):
    assert p.parse_int(text, base) == expected


def test_parse_bracketed_choice():
    assert p.parse_bracketed_choice('always [madvise] never\n') == ('madvise', ['always', 'madvise', 'never'])
    assert p.parse_bracketed_choice(None) == (None, [])


def test_parse_keyed_kb_node_meminfo():
    text = 'Node 1 MemTotal:        2014532 kB\nNode 1 MemFree:         1800000 kB\nNode 1 HugePages_Total:     0\n'
    assert p.parse_keyed_kb(text, strip_prefix=True) == {'MemTotal': 2014532, 'MemFree': 1800000,
                                                         'HugePages_Total': 0}


@pytest.mark.parametrize('text, expected', [
    ('3b:00.0', '0000:3b:00.0'), ('0000:AF:01.7', '0000:af:01.7'), ('10000:00:02.0', None), ('3b:00.8', None),
    ('3b:00', None), ('0000:3b:00.0;rm', None),
])
def test_normalize_pci_address(text, expected):
    if expected is None:
        with pytest.raises(p.ParseError):
            p.normalize_pci_address(text)
    else:
        assert p.normalize_pci_address(text) == expected


def test_parse_os_release():
    text = 'NAME="Red Hat Enterprise Linux"\nID=rhel\nID_LIKE="fedora"\n# comment\nVERSION_ID=\'9.4\'\n'
    assert p.parse_os_release(text) == {'NAME': 'Red Hat Enterprise Linux', 'ID': 'rhel', 'ID_LIKE': 'fedora',
                                        'VERSION_ID': '9.4'}


def test_parse_shell_assignments():
    text = ('GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="a b=c"\nexport GRUB_TIMEOUT=5 # five\n'
            'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX d"\nGRUB_BROKEN="unterminated\n')
    assert p.parse_shell_assignments(text) == {'GRUB_DEFAULT': '0', 'GRUB_CMDLINE_LINUX': '$GRUB_CMDLINE_LINUX d',
                                               'GRUB_TIMEOUT': '5'}


def test_parse_mounts():
    text = ('hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=1024M 0 0\n'
            'none /mnt/huge\\040two hugetlbfs rw,pagesize=2M,mode=1770 0 0\nshort line\n')
    assert p.parse_mounts(text) == [
        {'source': 'hugetlbfs', 'path': '/dev/hugepages', 'fstype': 'hugetlbfs',
         'options': {'rw': True, 'relatime': True, 'pagesize': '1024M'}},
        {'source': 'none', 'path': '/mnt/huge two', 'fstype': 'hugetlbfs',
         'options': {'rw': True, 'pagesize': '2M', 'mode': '1770'}},
    ]


def test_parse_route_tables():
    v4 = ('Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
          'enp1s0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n'
          'enp1s0\t0002000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n')
    assert p.parse_route_table(v4) == ['enp1s0']
    v6 = ('00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 '
          '00000400 00000001 00000000 00000003 eth1\n'
          '00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 '
          'ffffffff 00000001 00000000 00200200 lo\n')
    assert p.parse_ipv6_route_table(v6) == ['eth1']


# ---------------------------------------------------------------- next_arg() and GRUB's quoting (issue #26)

@pytest.mark.parametrize('line, tokens', [
    # Quotes toggle wherever they stand: around the whole token, after '=', in the middle of a value.
    ('"dyndbg=module igb +p" quiet', ['"dyndbg=module igb +p"', 'quiet']),
    ('dyndbg="module igb +p" quiet', ['dyndbg="module igb +p"', 'quiet']),
    ('a=b" "c d', ['a=b" "c', 'd']),
    ('a\tb\nc', ['a', 'b', 'c']),
])
def test_tokenize_cmdline_follows_next_arg(line, tokens):
    assert p.tokenize_cmdline(line) == tokens


def test_tokenize_cmdline_unclosed_quote_reads_to_the_end_like_the_kernel():
    assert p.tokenize_cmdline('root=/dev/sda "a b c', strict=False) == ['root=/dev/sda', '"a b c']


@pytest.mark.parametrize('token, key, value', [
    ('"dyndbg=module igb +p"', 'dyndbg', 'module igb +p'),
    ('dyndbg="module igb +p"', 'dyndbg', 'module igb +p'),
    ('a=b" "c', 'a', 'b" "c'),  # next_arg strips only a quote that opens the value
    ('a=""', 'a', ''),
    ('"quiet"', 'quiet', None),
])
def test_split_arg_strips_quotes_as_next_arg_does(token, key, value):
    assert p.split_arg(token) == (key, value)


def test_parse_cmdline_keeps_repeated_keys_and_stops_at_the_separator():
    parsed = p.parse_cmdline('console=tty0 console=ttyS0 -- console=ttyS1 single')
    assert parsed['params']['console'] == ['tty0', 'ttyS0']
    assert parsed['init_args'] == ['console=ttyS1', 'single']
    assert p.split_init(['a', '--', 'b', '--']) == (['a'], ['b', '--'], True)
    assert p.split_init(['a']) == (['a'], [], False)


@pytest.mark.parametrize('value', ['dyndbg="module igb +p"', 'a\\b', 'x=$HOME', 'back`tick`', "it's", ''])
def test_shell_quote_round_trips_through_sh(value):
    out = subprocess.run(['/bin/sh', '-c', 'V=%s; printf "%%s" "$V"' % p.shell_quote(value)],
                         capture_output=True, text=True, check=True).stdout
    assert out == value
    assert p.shell_unquote(p.shell_quote(value)) == value


@pytest.mark.parametrize('raw, value', [
    ('"quiet splash"', 'quiet splash'),
    ("'dyndbg=\"module igb +p\"'", 'dyndbg="module igb +p"'),
    ('"a \\"b\\""  # comment', 'a "b"'),
    ('plain', 'plain'),
    ('"$(id)"', None),
    ('"unclosed', None),
])
def test_shell_unquote_reads_like_sh(raw, value):
    assert p.shell_unquote(raw) == value


def test_parse_shell_assignments_unquotes_and_keeps_expansions_visible():
    values = p.parse_shell_assignments('A="x \\"y z\\""\nB=\'q "r"\'\nC="$(sed s/a/b/ f)"\n')
    assert values == {'A': 'x "y z"', 'B': 'q "r"', 'C': '$(sed s/a/b/ f)'}


@pytest.mark.parametrize('word, booted', [
    # GRUB 2.06 grub_create_loader_cmdline: a word with a space is wrapped in quotes; \ ' " escaped.
    ('dyndbg="module igb +p"', '"dyndbg=module igb +p"'),
    ("'a b'", '"a b"'),
    ('console=ttyS0,115200', 'console=ttyS0,115200'),
    ('x=\\"y', 'x=\\"y'),
])
def test_grub_boot_form(word, booted):
    assert p.grub_boot_form(word) == booted


def test_split_grub_words_keeps_words_raw():
    assert p.split_grub_words("ro dyndbg=\"module igb +p\" 'a b' c\\ d") == [
        'ro', 'dyndbg="module igb +p"', "'a b'", 'c\\ d']
    with pytest.raises(p.ParseError):
        p.split_grub_words('a "b')
