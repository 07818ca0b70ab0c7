// Integration tests of Multi-AZ against real PostgreSQL (being written).
#include <gtest/gtest.h>
