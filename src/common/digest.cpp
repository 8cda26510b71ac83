#include "common/digest.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <openssl/evp.h>
#include <sys/types.h>
#include <unistd.h>

namespace pyrunner::core
{
namespace
{

std::string hex(const unsigned char* bytes, std::size_t size)
{
    constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < size; ++i)
    {
        out += digits[bytes[i] >> 4U];
        out += digits[bytes[i] & 0xfU];
    }
    return out;
}

} // namespace

std::string sha256Hex(std::string_view bytes)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return hex(digest.data(), size);
}

std::optional<std::string> sha256HexOfFile(int fd)
{
    const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(),
                                                                     EVP_MD_CTX_free);
    if (!context || EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1)
    {
        return std::nullopt;
    }
    constexpr std::size_t chunkBytes = 256UL * 1024UL;
    std::string chunk(chunkBytes, '\0');
    off_t offset = 0;
    for (;;)
    {
        const auto n = ::pread(fd, chunk.data(), chunk.size(), offset);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            return std::nullopt;
        }
        if (n == 0)
        {
            break;
        }
        EVP_DigestUpdate(context.get(), chunk.data(), static_cast<std::size_t>(n));
        offset += n;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(context.get(), digest.data(), &size) != 1)
    {
        return std::nullopt;
    }
    return hex(digest.data(), size);
}

} // namespace pyrunner::core
