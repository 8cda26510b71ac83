# Writes OUTPUT, a C++ source whose FUNCTION (qualified, declared in HEADER) returns the bytes
# of INPUT exactly, as a std::string_view: a document the program serves can never differ
# from the file in the repository.
#   cmake -DINPUT=... -DOUTPUT=... -DHEADER=... -DFUNCTION=... -P embed_file.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" length)
set(initializer "")
set(offset 0)
# 16 bytes a line, each written as '\xNN': an array, not a string literal, so that no
# compiler's limit on a literal's length applies.
while(offset LESS length)
    string(SUBSTRING "${hex}" ${offset} 32 chunk)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1', " chunk "${chunk}")
    string(APPEND initializer "    ${chunk}\n")
    math(EXPR offset "${offset} + 32")
endwhile()
cmake_path(GET INPUT FILENAME source)
file(WRITE "${OUTPUT}.new" "// Generated from ${source} by cmake/embed_file.cmake; edit ${source} instead.
#include \"${HEADER}\"

namespace
{
// One more than the file, so that an empty file still makes an array.
constexpr char bytes[] = {
${initializer}    '\\0'};
} // namespace

std::string_view ${FUNCTION}()
{
    return {bytes, sizeof bytes - 1};
}
")
# Rewritten only when the bytes changed, so that nothing is rebuilt for nothing.
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
