#ifndef FASTINIT_DISPATCH_H
#define FASTINIT_DISPATCH_H
#include "kernels.h"
const fi_kernel_table *fi_kernels(void);
#endif
