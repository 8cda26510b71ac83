#include "broker/sandbox/bus_path.hpp"

namespace pyrunner::systemd
{
namespace
{

constexpr std::string_view unitPathPrefix = "/org/freedesktop/systemd1/unit/";
constexpr std::string_view hexDigits = "0123456789abcdef";

bool isAsciiAlnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

} // namespace

std::string unitObjectPath(std::string_view unitName)
{
    std::string path(unitPathPrefix);
    if (unitName.empty())
    {
        return path + "_";
    }
    for (const char ch : unitName)
    {
        const auto c = static_cast<unsigned char>(ch);
        if (isAsciiAlnum(c))
        {
            path.push_back(ch);
        }
        else
        {
            path.push_back('_');
            path.push_back(hexDigits[c >> 4U]);
            path.push_back(hexDigits[c & 0xfU]);
        }
    }
    return path;
}

} // namespace pyrunner::systemd
