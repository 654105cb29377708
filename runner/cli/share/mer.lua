-- Lmod module file for mer. `cmake --install` writes it as PREFIX/share/mer/modulefiles/mer.lua with its
-- PREFIX filled in; copy or link it into your module tree (e.g. MODULEPATH/mer/VERSION.lua).
help([[mer: micro-expression recognition experiments at HPC scale (patent CN114743235A).
Sets PATH, MANPATH and MER_SHARE; then `mer --help`, `man mer`, and the Slurm scripts in $MER_SHARE/slurm.]])
whatis("Name: mer")
whatis("Description: micro-expression recognition experiments (LOSO sweeps) on MPI clusters")

local prefix = "@MER_PREFIX@"
prepend_path("PATH", pathJoin(prefix, "bin"))
prepend_path("MANPATH", pathJoin(prefix, "share/man"))
setenv("MER_SHARE", pathJoin(prefix, "share/mer"))
