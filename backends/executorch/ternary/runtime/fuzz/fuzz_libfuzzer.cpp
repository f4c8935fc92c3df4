// libFuzzer entry: clang++ -fsanitize=fuzzer,address,undefined (see CMakeLists.txt).
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dynaedge::ternary::fuzz::run_input(data, size);
  return 0;
}
