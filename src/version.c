/* version.c - ck_version(): release and build configuration in one string. */
#include "convkit/convkit.h"

const char *ck_version(void)
{
    return CONVKIT_VERSION_STRING " ("
#ifdef _OPENMP
           "openmp"
#else
           "no openmp"
#endif
#ifdef CONVKIT_HAVE_AVX2
           ", avx2+fma kernels"
#else
           ", portable kernels only"
#endif
#ifdef CONVKIT_HAVE_BLAS
           ", openblas"
#endif
#ifdef CONVKIT_HAVE_MPI
           ", mpi"
#endif
           ")";
}
