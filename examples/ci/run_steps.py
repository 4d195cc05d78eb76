#!/usr/bin/env python3
"""Run one job of a GitHub Actions workflow here, step by step: the `run:` steps in bash as the runner does, the
artifact and cache actions emulated with directories, the others (checkout, setup-python) skipped and said so.

    examples/ci/run_steps.py examples/ci/nightly.yml sweep --matrix shard=1 --state /tmp/ci-state

`--state DIR` holds what jobs share on GitHub: artifacts (DIR/artifacts/NAME/) and caches (DIR/cache/KEY/), so
the jobs of one workflow run in order with one --state share them. `${{ ... }}` is evaluated for the small
subset the recipes here use (matrix, env, inputs, github, steps outputs, `||`, `==`/`!=`, always(), hashFiles).
The job's steps run in the current directory, which plays the checkout. Needs PyYAML (`pip install pyyaml`).
Exit status: the first failing step's, like the job's. Each step is logged on stderr with what ran.
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def say(message: str) -> None:
    print(f"run_steps: {message}", file=sys.stderr, flush=True)


class Context:
    def __init__(self, matrix: dict[str, str], state: Path, run_number: str) -> None:
        self.values: dict[str, Any] = {
            "matrix": matrix, "env": {}, "inputs": {}, "steps": {},
            "github": {"workspace": os.getcwd(), "run_number": run_number}}
        self.state = state

    def evaluate(self, expression: str) -> Any:
        for alternative in expression.split("||"):  # the first truthy one, as GitHub's `||`
            value = self._term(alternative.strip())
            if value not in ("", None, False):
                return value
        return ""

    def _term(self, term: str) -> Any:
        for operator in ("!=", "=="):
            if operator in term:
                left, right = (self._term(side.strip()) for side in term.split(operator, 1))
                return (str(left) != str(right)) == (operator == "!=")
        if term == "always()":
            return True
        if term.startswith("'") and term.endswith("'"):
            return term[1:-1]
        if re.fullmatch(r"-?\d+", term):
            return term
        call = re.fullmatch(r"hashFiles\((.*)\)", term)
        if call:
            return _hash_files([p.strip().strip("'") for p in call[1].split(",")])
        value: Any = self.values
        for part in term.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def expand(self, text: str) -> str:
        return _EXPRESSION.sub(lambda m: str(self.evaluate(m[1])), text)


def _hash_files(patterns: list[str]) -> str:
    digest = hashlib.sha256()
    for path in sorted({p for pattern in patterns for p in glob.glob(pattern, recursive=True)}):
        if os.path.isfile(path):
            digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()


def run_job(workflow: dict[str, Any], job_name: str, context: Context, overrides: dict[str, str]) -> int:
    job = workflow["jobs"][job_name]
    env = {**{k: context.expand(str(v)) for k, v in (workflow.get("env") or {}).items()}}
    context.values["env"] = env
    env.update({k: context.expand(str(v)) for k, v in (job.get("env") or {}).items()})
    env.update(overrides)
    failed = 0
    for number, step in enumerate(job["steps"], 1):
        name = context.expand(step.get("name") or step.get("uses") or step.get("run", "").splitlines()[0])
        condition = str(step.get("if", ""))
        wanted = bool(context.evaluate(condition)) if condition else not failed
        if condition and "always()" not in condition and failed:
            wanted = False
        if not wanted:
            say(f"step {number} ({name}): skipped (if: {condition or 'success()'})")
            continue
        if "uses" in step:
            code = _action(step["uses"], {k: context.expand(str(v)) for k, v in (step.get("with") or {}).items()},
                           step.get("id"), context, name, number)
        else:
            code = _shell(context.expand(step["run"]), env, step.get("id"), context, name, number)
        if code and not failed:
            failed = code
    say(f"job {job_name}: {'failed with ' + str(failed) if failed else 'succeeded'}")
    return failed


def _shell(script: str, env: dict[str, str], step_id: str | None, context: Context, name: str, number: int) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        output, summary = Path(scratch) / "output", Path(scratch) / "summary"
        output.touch()
        path = os.environ.get("PATH", "")
        shim = Path(scratch) / "bin"
        shim.mkdir()
        if shutil.which("sudo") is None and os.geteuid() == 0:  # root without sudo: `sudo -E X` is `env X`
            _shim(shim / "sudo", '[ "$1" = -E ] && shift\nexec env "$@"')
        if shutil.which("python") is None:  # what actions/setup-python puts on PATH
            _shim(shim / "python", f'exec {sys.executable} "$@"')
        path = f"{shim}:{path}"
        say(f"step {number} ({name}): bash -e:\n" + "\n".join(f"    {line}" for line in script.splitlines()))
        code = subprocess.run(["bash", "-e", "-c", script], env={
            **os.environ, **env, "PATH": path, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKSPACE": os.getcwd()}, check=False).returncode
        if step_id:
            context.values["steps"][step_id] = {"outputs": dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)}
        if summary.exists():
            say(f"step {number}: job summary:\n{summary.read_text()}")
    say(f"step {number} ({name}): exit {code}")
    return code


def _shim(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    say(f"(no {path.name} here: a shim that runs: {body.splitlines()[-1]})")


def _action(uses: str, given: dict[str, str], step_id: str | None, context: Context, name: str, number: int) -> int:
    action = uses.split("@")[0]
    artifacts, caches = context.state / "artifacts", context.state / "cache"
    if action == "actions/upload-artifact":
        target = artifacts / given["name"]
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        paths = [p for line in given["path"].splitlines() if (p := line.strip())]
        for path in paths:
            if Path(path).is_dir():
                shutil.copytree(path, target, symlinks=True, dirs_exist_ok=True)
            elif Path(path).exists():
                shutil.copy2(path, target / Path(path).name)
        say(f"step {number} ({name}): uploaded {', '.join(paths)} as artifact {given['name']} ({target})")
        return 0 if any(target.iterdir()) or given.get("if-no-files-found") != "error" else 1
    if action == "actions/download-artifact":
        names = sorted(p.name for p in artifacts.iterdir() if fnmatch.fnmatch(p.name, given.get("pattern", "*"))) \
            if artifacts.is_dir() else []
        for artifact in names:
            shutil.copytree(artifacts / artifact, Path(given["path"]) / artifact, symlinks=True, dirs_exist_ok=True)
        say(f"step {number} ({name}): downloaded artifacts {', '.join(names) or '(none)'} into {given['path']}/")
        return 0
    if action in ("actions/cache", "actions/cache/restore"):
        stored = caches / given["key"]
        hit = stored.is_dir()
        if hit:
            shutil.copytree(stored, given["path"], dirs_exist_ok=True)
        if step_id:
            context.values["steps"][step_id] = {"outputs": {"cache-hit": "true" if hit else "false"}}
        say(f"step {number} ({name}): cache {given['key'][:60]}…: {'hit' if hit else 'miss'}")
        if not hit and given.get("fail-on-cache-miss") == "true":
            return 1
        if action == "actions/cache":  # the post-job save, done now: the next job of this workflow needs it
            context.values.setdefault("_save", []).append((given["path"], stored))
        return 0
    say(f"step {number} ({name}): skipped, {uses} is GitHub's (the current directory is the checkout)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflow", type=Path)
    parser.add_argument("job")
    parser.add_argument("--matrix", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--state", type=Path, default=Path(".ci-state"))
    parser.add_argument("--run-number", default="1")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="override a workflow env value (e.g. a smaller sweep)")
    args = parser.parse_args()
    try:
        import yaml
    except ImportError:
        print("run_steps: error: needs PyYAML (pip install pyyaml)", file=sys.stderr)
        return 2
    workflow = yaml.safe_load(args.workflow.read_text())
    if args.job not in workflow.get("jobs", {}):
        print(f"run_steps: error: no job {args.job!r} in {args.workflow} (jobs: {', '.join(workflow['jobs'])})",
              file=sys.stderr)
        return 2
    context = Context(dict(m.split("=", 1) for m in args.matrix), args.state.resolve(), args.run_number)
    code = run_job(workflow, args.job, context, dict(e.split("=", 1) for e in args.env))
    for path, stored in context.values.get("_save", []):
        if not code and Path(path).is_dir() and not stored.is_dir():
            shutil.copytree(path, stored)
            say(f"cache saved: {path} -> {stored}")
    return code


if __name__ == "__main__":
    sys.exit(main())
