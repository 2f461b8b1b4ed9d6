#!/usr/bin/env bash
# Builds with warnings as errors and runs every test (unit, store, import, end-to-end CLI).
# Tests that need ../shared/fixtures say so and are skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -Xswiftc -warnings-as-errors
swift test -Xswiftc -warnings-as-errors
