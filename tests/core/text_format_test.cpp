// CSV fields and printf numbers shared by the reports.
#include <gtest/gtest.h>

#include "core/text_format.h"

namespace cpsim {
namespace {

TEST(TextFormat, CsvFieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain text"), "plain text");
  EXPECT_EQ(csv_field("a, b"), "\"a, b\"");
  EXPECT_EQ(csv_field("say \"no\""), "\"say \"\"no\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
}

TEST(TextFormat, NumbersFollowTheFormat) {
  EXPECT_EQ(format_number(1.23456, "%.3f"), "1.235");
  EXPECT_EQ(format_number(2.0, "%.2fx"), "2.00x");
}

}  // namespace
}  // namespace cpsim
