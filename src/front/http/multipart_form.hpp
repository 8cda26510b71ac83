#pragma once

#include "front/http/request_parser.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pyrunner::http
{

// One part of a multipart/form-data body: its Content-Disposition name and filename, and its
// bytes.
struct FormPart
{
    std::string name;
    std::string content;
    std::optional<std::string> filename = {};
};

// The form takes file, options and archive once each, and up to the largest files_count a
// request may ask for (hard bound of the configuration) parts named files, each with a few
// header lines.
inline constexpr std::size_t maxFilesParts = 10000;
inline constexpr std::size_t maxFormParts = maxFilesParts + 3;
inline constexpr std::size_t maxPartHeadBytes = 4096;
// A part's head holds Content-Disposition, Content-Type and perhaps an encoding: many more
// lines are only there to cost GMime a header object each.
inline constexpr std::size_t maxPartHeadLines = 8;

// The parts of a multipart/form-data body, read with GMime once the body's shape is known to
// be cheap to parse; which parts the form takes is the caller's to check.
std::variant<std::vector<FormPart>, HttpError> readForm(std::string_view contentType,
                                                        std::string_view body);

} // namespace pyrunner::http
