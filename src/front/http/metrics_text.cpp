#include "front/http/metrics_text.hpp"

#include <array>
#include <charconv>
#include <cstdint>

namespace pyrunner::http
{
namespace
{

constexpr std::array finalStatuses{
    core::RunStatus::Succeeded,
    core::RunStatus::Failed,
    core::RunStatus::TimedOut,
    core::RunStatus::OutOfMemory,
    core::RunStatus::OutputLimitExceeded,
    core::RunStatus::Cancelled,
    core::RunStatus::Error,
};

// Shortest text that reads back as the same number, as Prometheus parses it.
std::string number(double value)
{
    std::array<char, 32> text{};
    const auto [end, error] = std::to_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc{} ? std::string(text.data(), end) : std::string("NaN");
}

class Exposition
{
  public:
    // The # HELP and # TYPE lines that open a metric family.
    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        text_ += "# HELP ";
        text_ += name;
        text_ += ' ';
        text_ += help;
        text_ += "\n# TYPE ";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }

    // One sample; `labels` is empty or `name="value",...` with values that need no escaping.
    void sample(std::string_view name, std::string_view labels, std::string_view value)
    {
        text_ += name;
        if (!labels.empty())
        {
            text_ += '{';
            text_ += labels;
            text_ += '}';
        }
        text_ += ' ';
        text_ += value;
        text_ += '\n';
    }

    void sample(std::string_view name, std::string_view labels, std::uint64_t value)
    {
        sample(name, labels, std::to_string(value));
    }

    void histogram(std::string_view name, const core::Histogram& histogram)
    {
        const std::string bucket = std::string(name) + "_bucket";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < histogram.bounds().size(); ++i)
        {
            cumulative += histogram.counts()[i];
            sample(bucket, "le=\"" + number(histogram.bounds()[i]) + "\"", cumulative);
        }
        sample(bucket, "le=\"+Inf\"", histogram.count());
        sample(std::string(name) + "_sum", "", number(histogram.sum()));
        sample(std::string(name) + "_count", "", histogram.count());
    }

    std::string take() { return std::move(text_); }

  private:
    std::string text_;
};

void runCounters(Exposition& out, const core::MetricsSnapshot& counts)
{
    out.family("pyrunner_runs_accepted_total", "counter",
               "Runs accepted (answered 200 or 202), since the server started.");
    out.sample("pyrunner_runs_accepted_total", "", counts.accepted);
    out.family("pyrunner_runs_refused_total", "counter",
               "Submissions refused: queue_full (429), tenant_queue_full (429, the tenant's "
               "share of the queue) or unavailable (503, systemd or the broker out of reach).");
    out.sample("pyrunner_runs_refused_total", "reason=\"queue_full\"", counts.refusedQueueFull);
    out.sample("pyrunner_runs_refused_total", "reason=\"tenant_queue_full\"",
               counts.refusedTenantQueueFull);
    out.sample("pyrunner_runs_refused_total", "reason=\"unavailable\"", counts.refusedUnavailable);
    out.family("pyrunner_runs_finished_total", "counter",
               "Runs that reached a final status, by that status.");
    for (const auto status : finalStatuses)
    {
        out.sample("pyrunner_runs_finished_total",
                   "status=\"" + std::string(core::toString(status)) + "\"",
                   counts.finished.at(static_cast<std::size_t>(status)));
    }
    out.family("pyrunner_run_latency_seconds", "histogram",
               "Time from a run's acceptance to its final status (queueing included).");
    out.histogram("pyrunner_run_latency_seconds", counts.latency);
}

void gauges(Exposition& out, const core::Health& now)
{
    out.family("pyrunner_runs_running", "gauge", "Runs whose units are running now.");
    out.sample("pyrunner_runs_running", "", now.running);
    out.family("pyrunner_runs_queued", "gauge", "Runs waiting for a free slot now.");
    out.sample("pyrunner_runs_queued", "", now.queued);
    out.family("pyrunner_runs_running_max", "gauge", "Runs that may run at once.");
    out.sample("pyrunner_runs_running_max", "", now.maxRunning);
    out.family("pyrunner_runs_queued_max", "gauge", "Runs that may wait in the queue.");
    out.sample("pyrunner_runs_queued_max", "", now.maxQueued);
    out.family("pyrunner_warm_units", "gauge",
               "Idle warm units waiting for a run, by environment: ready, or still starting.");
    for (const auto& [environment, units] : now.warm)
    {
        // Environment names (isEnvironmentName) hold nothing a label value must escape.
        const auto labels = "environment=\"" + environment + "\",state=";
        out.sample("pyrunner_warm_units", labels + "\"ready\"", units.ready);
        out.sample("pyrunner_warm_units", labels + "\"starting\"", units.starting);
    }
    out.family("pyrunner_systemd_up", "gauge",
               "1 while the server reaches systemd through its broker, else 0.");
    out.sample("pyrunner_systemd_up", "", now.systemdReachable ? 1U : 0U);
}

// Tenant names (isTenantName) hold nothing a label value must escape; the runs of a server
// without authentication are the tenant "".
void tenantSeries(Exposition& out, const core::MetricsSnapshot& counts, const core::Health& now)
{
    out.family("pyrunner_tenant_runs_accepted_total", "counter", "Runs accepted, by tenant.");
    for (const auto& [tenant, each] : counts.tenants)
    {
        out.sample("pyrunner_tenant_runs_accepted_total", "tenant=\"" + tenant + "\"",
                   each.accepted);
    }
    out.family("pyrunner_tenant_runs_refused_total", "counter",
               "Submissions refused with 429 or 503, by tenant.");
    for (const auto& [tenant, each] : counts.tenants)
    {
        out.sample("pyrunner_tenant_runs_refused_total", "tenant=\"" + tenant + "\"", each.refused);
    }
    out.family("pyrunner_tenant_runs_finished_total", "counter",
               "Runs that reached a final status, by tenant and status.");
    for (const auto& [tenant, each] : counts.tenants)
    {
        for (const auto status : finalStatuses)
        {
            out.sample("pyrunner_tenant_runs_finished_total",
                       "tenant=\"" + tenant + "\",status=\"" + std::string(core::toString(status)) +
                           "\"",
                       each.finished.at(static_cast<std::size_t>(status)));
        }
    }
    out.family("pyrunner_tenant_cpu_seconds_total", "counter",
               "CPU time the finished runs of each tenant took.");
    for (const auto& [tenant, each] : counts.tenants)
    {
        out.sample("pyrunner_tenant_cpu_seconds_total", "tenant=\"" + tenant + "\"",
                   number(each.cpuSeconds));
    }
    // A family's samples must follow its # TYPE line, not another family's.
    out.family("pyrunner_tenant_runs_running", "gauge", "Runs running now, by tenant.");
    for (const auto& [tenant, runs] : now.tenants)
    {
        out.sample("pyrunner_tenant_runs_running", "tenant=\"" + tenant + "\"", runs.running);
    }
    out.family("pyrunner_tenant_runs_queued", "gauge", "Runs waiting now, by tenant.");
    for (const auto& [tenant, runs] : now.tenants)
    {
        out.sample("pyrunner_tenant_runs_queued", "tenant=\"" + tenant + "\"", runs.queued);
    }
    out.family("pyrunner_auth_failures_total", "counter",
               "Requests refused for a missing, unknown or revoked token (401), and those "
               "refused because their client failed too often (429).");
    out.sample("pyrunner_auth_failures_total", "reason=\"invalid\"", counts.authFailures);
    out.sample("pyrunner_auth_failures_total", "reason=\"throttled\"", counts.authThrottled);
}

} // namespace

std::string prometheusText(const core::MetricsSnapshot& counts, const core::Health& now)
{
    Exposition out;
    runCounters(out, counts);
    gauges(out, now);
    tenantSeries(out, counts, now);
    out.family("pyrunner_broker_reconnects_total", "counter",
               "Times the sandbox broker appeared on the bus again after being away.");
    out.sample("pyrunner_broker_reconnects_total", "", counts.brokerReconnects);
    out.family("pyrunner_callbacks_total", "counter",
               "Attempts to post a finished run to its callback_url, by result: delivered (2xx), "
               "retried (to be tried again) or failed (given up).");
    out.sample("pyrunner_callbacks_total", "result=\"delivered\"", counts.callbacksDelivered);
    out.sample("pyrunner_callbacks_total", "result=\"retried\"", counts.callbacksRetried);
    out.sample("pyrunner_callbacks_total", "result=\"failed\"", counts.callbacksFailed);
    out.family("pyrunner_http_responses_total", "counter", "HTTP answers, by status class.");
    for (std::size_t i = 0; i < counts.httpResponses.size(); ++i)
    {
        out.sample("pyrunner_http_responses_total", "code=\"" + std::to_string(i + 1) + "xx\"",
                   counts.httpResponses.at(i));
    }
    return out.take();
}

} // namespace pyrunner::http
