# -*- coding: utf-8 -*-
# Copyright: (c) 2026, dataplane.node contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/vm/buildcache.py: the cache keys and the build-once rename that the testbed's builds share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import sys

import pytest

VM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'vm')
sys.path.insert(0, VM)

import buildcache  # noqa: E402
import image  # noqa: E402
import k8s_build  # noqa: E402


def test_keys_and_cache_dir_are_the_ones_the_builds_use(tmp_path, monkeypatch):
    monkeypatch.setenv('DATAPLANE_CACHE', str(tmp_path))
    with open(os.path.join(VM, 'image.py'), 'rb') as handle:
        image_key = hashlib.sha256(handle.read()).hexdigest()[:16]
    # image.py keeps its own copy of these (an edit of image.py would change its key and rebuild the image):
    # the helper gives the same key and directory, so it can take them over with the image's next recipe change.
    assert buildcache.recipe_key(image.__file__) == image.recipe_hash() == image_key
    assert buildcache.cache_dir() == image.cache_dir() == tmp_path
    assert k8s_build.result_dir() == tmp_path / 'k8s' / buildcache.recipe_key(k8s_build.__file__)
    monkeypatch.delenv('DATAPLANE_CACHE')
    assert buildcache.cache_dir() == image.cache_dir()


def test_build_once_renames_a_whole_result_and_reuses_it(tmp_path):
    final = tmp_path / 'kind' / 'abc'
    built = []

    def build(work):
        built.append(work)
        (work / 'result').write_text('done')

    def complete(path):
        return (path / 'result').is_file()

    assert buildcache.build_once(final, complete, build) == final
    assert (final / 'result').read_text() == 'done' and len(built) == 1
    assert buildcache.build_once(final, complete, build) == final and len(built) == 1  # cached: not built again
    assert os.listdir(str(tmp_path / 'kind')) == ['abc']  # no work directory left


def test_build_once_keeps_the_log_of_a_failed_build_and_drops_big_files(tmp_path):
    final = tmp_path / 'kind' / 'abc'

    def build(work):
        (work / 'build.log').write_text('step 2 failed')
        (work / 'disk.raw').write_text('big')
        raise RuntimeError('step 2 failed')

    with pytest.raises(RuntimeError):
        buildcache.build_once(final, lambda path: path.is_dir(), build, drop_on_error=['disk.raw', 'absent'])
    assert not final.exists()
    (work,) = (tmp_path / 'kind').iterdir()
    assert work.name.startswith('.build-abc-') and sorted(os.listdir(str(work))) == ['build.log']


def test_build_once_losing_a_race_returns_the_winner(tmp_path):
    final = tmp_path / 'kind' / 'abc'

    def build(work):
        (work / 'result').write_text('mine')
        final.mkdir()  # another build finished first, with a non-empty result the rename cannot replace
        (final / 'result').write_text('theirs')

    assert buildcache.build_once(final, lambda path: (path / 'result').is_file(), build) == final
    assert (final / 'result').read_text() == 'theirs'
    assert os.listdir(str(tmp_path / 'kind')) == ['abc']


def test_cli(capsys, tmp_path):
    class Failed(Exception):
        pass

    def fail():
        raise Failed('no compiler')

    assert buildcache.cli(['path'], 'demo', lambda: tmp_path / 'x', fail, Failed) == 0
    assert capsys.readouterr().out == '%s\n' % (tmp_path / 'x')
    assert buildcache.cli(['build'], 'demo', lambda: tmp_path / 'x', fail, Failed) == 1
    assert capsys.readouterr().err == 'no compiler\n'
    assert buildcache.cli(['build'], 'demo', None, lambda: tmp_path / 'y', Failed) == 0
    assert capsys.readouterr().out == '%s\n' % (tmp_path / 'y')
