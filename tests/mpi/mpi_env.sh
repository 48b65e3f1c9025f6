# Sourced by the MPI test scripts: let mpirun run as root in containers and oversubscribe the cores, and
# turn leak checking off under the asan preset (OpenMPI's plugins leak by design and are unloaded before
# LeakSanitizer can name them; address and UB checks stay on).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
