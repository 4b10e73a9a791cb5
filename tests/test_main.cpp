// Catch2 v2 main, defined here rather than taken from Catch2WithMain, which Debian ships for
// amd64 only (cross builds need their own).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
