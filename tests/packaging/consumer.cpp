// consumer.c built as C++: guv.h must be valid C++ as well as C.
#include "consumer.c"
