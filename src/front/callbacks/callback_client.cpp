#include "front/callbacks/callback_client.hpp"

#include <array>
#include <curl/curl.h>
#include <mutex>
#include <stdexcept>

namespace pyrunner::core
{
namespace
{

struct EasyDeleter
{
    void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};

struct ListDeleter
{
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

using Easy = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

// The answer's body says nothing the status does not; it is dropped as it comes.
std::size_t discard(char* /*data*/, std::size_t size, std::size_t count, void* /*context*/)
{
    return size * count;
}

int abortWhenStopping(void* stopping, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/,
                      curl_off_t /*ultotal*/, curl_off_t /*ulnow*/)
{
    return static_cast<const std::atomic<bool>*>(stopping)->load() ? 1 : 0;
}

void append(HeaderList& list, const std::string& header)
{
    auto* grown = curl_slist_append(list.get(), header.c_str());
    if (grown == nullptr)
    {
        throw std::runtime_error("out of memory for a callback's headers");
    }
    static_cast<void>(list.release());
    list.reset(grown);
}

template <typename Value> void set(CURL* easy, CURLoption option, Value value)
{
    if (curl_easy_setopt(easy, option, value) != CURLE_OK)
    {
        throw std::runtime_error("libcurl refused an option of a callback's request");
    }
}

} // namespace

struct CallbackClient::Handle
{
    Easy easy;
};

CallbackClient::CallbackClient() : handle_(std::make_unique<Handle>())
{
    // Once per process, before the first handle; thread-safe in the libcurl this builds with.
    static std::once_flag initialised;
    std::call_once(initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    handle_->easy.reset(curl_easy_init());
    if (!handle_->easy)
    {
        throw std::runtime_error("libcurl could not make a handle for callbacks");
    }
}

CallbackClient::~CallbackClient() = default;

PostOutcome CallbackClient::post(const CallbackRequest& request, const std::atomic<bool>& stopping)
{
    auto* easy = handle_->easy.get();
    curl_easy_reset(easy);
    HeaderList headers;
    append(headers, "Content-Type: application/json");
    append(headers, "X-Pyrunner-Signature: " + request.signature);
    append(headers, "X-Pyrunner-Run: " + request.runId);
    // A large body is sent at once, not after a round trip for "100 Continue".
    append(headers, "Expect:");
    std::array<char, CURL_ERROR_SIZE> error{};
    set(easy, CURLOPT_URL, request.url.c_str());
    set(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    set(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(easy, CURLOPT_FOLLOWLOCATION, 0L);
    // "" overrides the proxy variables of the environment as well.
    set(easy, CURLOPT_PROXY, "");
    set(easy, CURLOPT_PATH_AS_IS, 1L);
    set(easy, CURLOPT_NOSIGNAL, 1L);
    set(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMs);
    set(easy, CURLOPT_TIMEOUT_MS, totalTimeoutMs);
    set(easy, CURLOPT_USERAGENT, "pyrunner/" PYRUNNER_VERSION);
    set(easy, CURLOPT_HTTPHEADER, headers.get());
    set(easy, CURLOPT_POST, 1L);
    set(easy, CURLOPT_POSTFIELDS, request.body.data());
    set(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    set(easy, CURLOPT_WRITEFUNCTION, discard);
    set(easy, CURLOPT_NOPROGRESS, 0L);
    set(easy, CURLOPT_XFERINFOFUNCTION, abortWhenStopping);
    set(easy, CURLOPT_XFERINFODATA, &stopping);
    set(easy, CURLOPT_ERRORBUFFER, error.data());
    const auto code = curl_easy_perform(easy);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    // The handle keeps its connections but no pointer to this call's headers and buffer.
    curl_easy_reset(easy);
    if (code != CURLE_OK)
    {
        return {0, error.front() != '\0' ? error.data() : curl_easy_strerror(code)};
    }
    return {status, {}};
}

} // namespace pyrunner::core
