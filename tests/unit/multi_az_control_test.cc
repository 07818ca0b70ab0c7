// Unit tests of Multi-AZ over the fake runtime (being written).
#include <gtest/gtest.h>
