// OpenBLAS's CBLAS interface plus its thread controls.
#include <cblas.h>
// Declared by OpenBLAS's cblas.h; repeated here so the module builds against any cblas.h.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
