// An uploaded archive through makeBundle, with small limits so that inputs of libFuzzer's
// usual sizes reach both sides of them. Beyond "no crash, no leak, no throw": a refusal is a
// 400 or 413 with one short sentence; a bundle is a tar of regular files and directories
// only, every path within the rule and not under out/, within files_count and files_bytes.
#include "common/utf8.hpp"
#include "front/files/files_in.hpp"
#include "fuzz_check.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace
{

using namespace pyrunner;

constexpr files::FilesLimits limits{8, 4096, 8192};

void checkBundle(const std::string& bundle)
{
    struct Free
    {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    const std::unique_ptr<archive, Free> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    FUZZ_REQUIRE(archive_read_open_memory(reader.get(), bundle.data(), bundle.size()) ==
                 ARCHIVE_OK);
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
    archive_entry* entry = nullptr;
    while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK)
    {
        std::string path = archive_entry_pathname(entry);
        const auto type = archive_entry_filetype(entry);
        FUZZ_REQUIRE(type == AE_IFREG || type == AE_IFDIR);
        FUZZ_REQUIRE(archive_entry_hardlink(entry) == nullptr);
        if (type == AE_IFDIR)
        {
            FUZZ_REQUIRE(!path.empty() && path.back() == '/');
            path.pop_back();
        }
        else
        {
            ++count;
            bytes += static_cast<std::uint64_t>(archive_entry_size(entry));
        }
        FUZZ_REQUIRE(!files::filesPathProblem(path));
    }
    FUZZ_REQUIRE(count <= limits.count);
    FUZZ_REQUIRE(bytes <= limits.bytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    files::FilesIn in;
    in.archive = std::string(reinterpret_cast<const char*>(data), size);
    const auto result = files::makeBundle(std::move(in), limits);
    if (const auto* refusal = std::get_if<files::FilesRefusal>(&result))
    {
        FUZZ_REQUIRE(refusal->status == 400 || refusal->status == 413);
        FUZZ_REQUIRE(!refusal->message.empty() && refusal->message.back() == '.');
        FUZZ_REQUIRE(refusal->message.size() <= 512);
        FUZZ_REQUIRE(core::isValidUtf8(refusal->message));
        return 0;
    }
    checkBundle(std::get<std::string>(result));
    return 0;
}
