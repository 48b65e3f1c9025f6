// CSV fields, printf numbers and terminal-safe text shared by the reports and messages.
#include <gtest/gtest.h>

#include "core/text_format.h"

namespace cpsim {
namespace {

TEST(TextFormat, CsvFieldsAreQuotedOnlyWhenNeeded) {
  EXPECT_EQ(csv_field("plain text"), "plain text");
  EXPECT_EQ(csv_field("a, b"), "\"a, b\"");
  EXPECT_EQ(csv_field("say \"no\""), "\"say \"\"no\"\"\"");
  // A field never spans two lines (line-based readers of summary.csv would split the row).
  EXPECT_EQ(csv_field("two\nlines"), "two\\nlines");
  EXPECT_EQ(csv_field("a,\nb"), "\"a,\\nb\"");
}

TEST(TextFormat, PrintableEscapesControlsAndKeepsUtf8) {
  EXPECT_EQ(printable("plain"), "plain");
  EXPECT_EQ(printable("two\nlines\tand\rreturn"), "two\\nlines\\tand\\rreturn");
  EXPECT_EQ(printable("\x1b[31mred"), "\\x1b[31mred");     // no escape sequence reaches a terminal
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\x7f"), "\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "2J"), "\\xc2\\x9b2J");  // C1 control CSI, UTF-8 encoded
  EXPECT_EQ(printable("\x9b" "2J"), "\\x9b2J");             // a raw C1 byte, not UTF-8
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x96\x88 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x96\x88 \xf0\x9f\x98\x80");  // é █ 😀 kept
  EXPECT_EQ(printable("\xe2\x96"), "\\xe2\\x96");  // a truncated sequence
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");  // an overlong encoding
}

TEST(TextFormat, NumbersFollowTheFormat) {
  EXPECT_EQ(format_number(1.23456, "%.3f"), "1.235");
  EXPECT_EQ(format_number(2.0, "%.2fx"), "2.00x");
}

}  // namespace
}  // namespace cpsim
