# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The management_addresses filter: names resolved on the controller (the real resolver for 'localhost', a
stand-in only at the socket boundary for a DNS name), literal addresses kept, unresolvable names reported."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.dataplane.node.plugins.filter.management_addresses import management_addresses


def test_localhost_resolves_through_the_real_resolver():
    found = management_addresses('localhost')
    assert '127.0.0.1' in found or '::1' in found
    assert len(found) == len(set(found))


def test_literal_addresses_are_kept_in_one_spelling():
    assert management_addresses(['10.0.0.1', '::ffff:10.0.0.1', 'FD00:0::1', None, '']) == ['10.0.0.1', 'fd00::1']


def test_a_dns_name_gives_every_ipv4_and_ipv6_address(monkeypatch):
    def getaddrinfo(host, port, family=0, type=0, *args):
        assert host == 'worker1.dc.example'
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, '', ('10.1.2.3', 0)),
                (socket.AF_INET6, socket.SOCK_STREAM, 6, '', ('2001:db8::3', 0, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, '', ('10.1.2.3', 0))]
    monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
    assert management_addresses('worker1.dc.example') == ['10.1.2.3', '2001:db8::3']


def test_an_unresolvable_name_is_reported():
    name = 'no-such-host.invalid'  # RFC 6761: .invalid never resolves
    assert management_addresses(name) == [name]
    with pytest.raises(AnsibleFilterError, match='no-such-host.invalid does not resolve on the controller'):
        management_addresses(name, strict=True)
