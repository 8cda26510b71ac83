#pragma once

#include "front/http/request_parser.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::http
{

// One part of a multipart/form-data body: its Content-Disposition name and its bytes.
struct FormPart
{
    std::string name;
    std::string content;
};

// The form takes two parts (file and options), each with a few header lines.
inline constexpr std::size_t maxFormParts = 2;
inline constexpr std::size_t maxPartHeadBytes = 4096;

// The parts of a multipart/form-data body, read with GMime once the body's shape is known to
// be cheap to parse; which parts the form takes is the caller's to check.
std::variant<std::vector<FormPart>, HttpError> readForm(std::string_view contentType,
                                                        std::string_view body);

} // namespace pyrunner::http
