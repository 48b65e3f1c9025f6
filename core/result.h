// Result<T>: a value or a user-facing error. Library code returns these instead of throwing,
// so no exception crosses a library boundary; the CLI turns an error into one stderr line.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace cpsim {

enum class ErrorCode {
  kBadInput = 2,           // malformed or invalid input: exit status 2
  kUnsupported = 2,        // a valid input this request cannot serve: also exit status 2
  kVerificationFailed = 3,  // a numeric check failed (execute mode)
  kExecutionFailed = 4      // a rank failed or timed out (execute mode)
};

struct Error {
  ErrorCode code = ErrorCode::kBadInput;
  // "<file>: <field>: <what is wrong, and the value>"
  std::string message;
};

inline Error bad_input(std::string message) { return {ErrorCode::kBadInput, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!ok()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// For operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

}  // namespace cpsim

// `CPSIM_ASSIGN_OR_RETURN(lhs, expr)`: evaluates a Result; on error returns the error from the enclosing
// function, else assigns (or declares, e.g. `const Json* node`) lhs with the value.
#define CPSIM_CONCAT_INNER_(a, b) a##b
#define CPSIM_CONCAT_(a, b) CPSIM_CONCAT_INNER_(a, b)
#define CPSIM_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto CPSIM_CONCAT_(cpsim_result_, __LINE__) = (expr);           \
  if (!CPSIM_CONCAT_(cpsim_result_, __LINE__)) {                  \
    return CPSIM_CONCAT_(cpsim_result_, __LINE__).error();        \
  }                                                                \
  lhs = std::move(*CPSIM_CONCAT_(cpsim_result_, __LINE__))

// `CPSIM_RETURN_IF_ERROR(expr)`: evaluates a Status (or any Result) and returns its error, if any.
#define CPSIM_RETURN_IF_ERROR(expr)                                \
  do {                                                             \
    auto cpsim_status_ = (expr);                                   \
    if (!cpsim_status_) return cpsim_status_.error();              \
  } while (false)
