# Shared by the mer export / mer predict integration tests (sourced; not a test itself): the checks a test
# needs, a temporary working directory it runs in, fail, and h5vals.
set -euo pipefail
: "${MER_BIN:?MER_BIN not set (run through ctest)}"
command -v h5dump >/dev/null || { echo "SKIP: h5dump not found (apt-get install hdf5-tools)"; exit 77; }
export HDF5_USE_FILE_LOCKING=FALSE
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$T"
# one value per line of a dataset (h5dump, no indices; floats as %.9g, which a float reads back exactly)
h5vals() { h5dump -y -w 1 ${3:+-m $3} -d "$2" "$1" | sed -n '/DATA {/,/^ *}/p' | sed '1d;$d' | tr -d ' ,"' | sed '/^$/d'; }
