// Catch2's main, compiled once per build flavour.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
