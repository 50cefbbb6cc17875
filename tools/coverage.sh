#!/usr/bin/env bash
# Line coverage of src/ by the test suite: builds build-coverage/ with gcov instrumentation
# (-DOT_COVERAGE=ON), runs every CTest case (but the valgrind one, which builds its own
# binary), and reports with lcov: the summary here, per file in build-coverage/html/.
#   tools/coverage.sh [CTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
dpkg-query -W -f='${Status}' lcov 2>/dev/null | grep -q "install ok installed" || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends lcov >/dev/null
}
BUILD_DIR=build-coverage CMAKE_ARGS="-DOT_COVERAGE=ON" tools/setup.sh >/dev/null
find build-coverage -name '*.gcda' -delete
(cd build-coverage && ctest -j"$(nproc)" --timeout 1200 -E 'cli.valgrind' "$@" >ctest.log) ||
  { tail -20 build-coverage/ctest.log; echo "coverage: some tests failed (the figure counts them anyway)" >&2; }
lcov --quiet --capture --directory build-coverage/CMakeFiles/onnxtrain_objects.dir --output-file build-coverage/all.info \
  --rc lcov_branch_coverage=0 2>/dev/null
lcov --quiet --extract build-coverage/all.info "$PWD/src/*" --output-file build-coverage/src.info
genhtml --quiet build-coverage/src.info --output-directory build-coverage/html >/dev/null
lcov --summary build-coverage/src.info 2>&1 | grep -E "lines|functions"
echo "coverage: per file in build-coverage/html/index.html"
