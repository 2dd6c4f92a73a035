// OpenBLAS's CBLAS interface plus its thread controls.
#include <cblas.h>
// Declared by OpenBLAS's cblas.h; repeated here so the module builds against any cblas.h.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// Stops OpenBLAS's worker threads (they are started again on the next threaded call). Exported
// by OpenBLAS's pthread builds; used so its workers do not spin after a call (Kernels/BLAS.swift).
int blas_thread_shutdown_(void);
