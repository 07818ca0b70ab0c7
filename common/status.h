// Status and Result<T>: how every layer reports an expected failure.
//
// A Status is OK or carries an AWS error (from the generated table, so the wire code, HTTP
// status and Sender/Receiver type are fixed in one place) plus a human message. Result<T> holds
// either a T or a non-OK Status. Both are plain values, cheap to copy when OK, and safe to pass
// between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/aws_errors_generated.h"

namespace localrds {

//! [[nodiscard]]: a Status that is dropped is an error nobody looked at; write `(void)` with a
//! comment where dropping one is meant.
class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(AwsError code, std::string message) {
    Status s;
    s.code_ = code;
    s.message_ = std::move(message);
    return s;
  }
  //! A failure inside localrds or a subprocess: InternalFailure (500, Receiver).
  static Status Internal(std::string message) {
    return Error(AwsError::kInternalFailure, std::move(message));
  }
  static Status InvalidParameter(std::string message) {
    return Error(AwsError::kInvalidParameterValue, std::move(message));
  }

  bool ok() const { return !code_.has_value(); }
  //! The error; on an OK status (a bug in the caller) InternalFailure, never undefined.
  AwsError code() const { return code_.value_or(AwsError::kInternalFailure); }
  const AwsErrorInfo& info() const { return Info(code()); }
  const std::string& message() const { return message_; }
  std::string ToString() const {
    return ok() ? std::string("OK") : std::string(info().code) + ": " + message_;
  }

 private:
  std::optional<AwsError> code_;
  std::string message_;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  //! On a temporary, the value moves out (`for (auto& x : Load().value())` stays valid).
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define LOCALRDS_RETURN_IF_ERROR(expr) \
  do {                                 \
    ::localrds::Status _st = (expr);   \
    if (!_st.ok()) return _st;         \
  } while (0)

}  // namespace localrds
