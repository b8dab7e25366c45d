#include "common/sodium_init.h"

#include <sodium.h>

namespace lanswarm {

Status InitSodium() {
  // sodium_init answers 1 when it has run before, which is success too.
  if (sodium_init() < 0) return Status::Unsupported("libsodium failed to initialise");
  return Status::Ok();
}

}  // namespace lanswarm
