#include "fake_run_service.hpp"
#include "front/http/api.hpp"
#include "front/http/metrics_text.hpp"

#include <gtest/gtest.h>

namespace pyrunner::http
{
namespace
{

using testing::FakeRunService;

core::MetricsSnapshot someCounts()
{
    core::MetricsSnapshot counts;
    counts.accepted = 5;
    counts.refusedQueueFull = 2;
    counts.finished.at(static_cast<std::size_t>(core::RunStatus::Succeeded)) = 3;
    counts.finished.at(static_cast<std::size_t>(core::RunStatus::OutOfMemory)) = 1;
    counts.latency = core::Histogram({0.1, 2.5, 300});
    counts.latency.observe(0.05);
    counts.latency.observe(0.1);
    counts.latency.observe(1.25);
    counts.latency.observe(400);
    counts.brokerReconnects = 1;
    counts.httpResponses = {0, 7, 0, 3, 1};
    counts.refusedTenantQueueFull = 1;
    auto& alice = counts.tenants["alice"];
    alice.accepted = 4;
    alice.refused = 1;
    alice.finished.at(static_cast<std::size_t>(core::RunStatus::Succeeded)) = 3;
    alice.cpuSeconds = 2.5;
    counts.authFailures = 6;
    counts.authThrottled = 2;
    counts.callbacksDelivered = 3;
    counts.callbacksRetried = 2;
    counts.callbacksFailed = 1;
    return counts;
}

core::Health someHealth()
{
    core::Health now;
    now.systemdReachable = true;
    now.running = 2;
    now.queued = 4;
    now.maxRunning = 2;
    now.maxQueued = 64;
    now.warm = {{"datascience", {0, 0}}, {"default", {1, 1}}};
    now.tenants = {{"alice", {2, 4}}};
    return now;
}

TEST(PrometheusText, WritesEveryFamilyWithItsHelpAndType)
{
    EXPECT_EQ(
        prometheusText(someCounts(), someHealth()),
        R"(# HELP pyrunner_runs_accepted_total Runs accepted (answered 200 or 202), since the server started.
# TYPE pyrunner_runs_accepted_total counter
pyrunner_runs_accepted_total 5
# HELP pyrunner_runs_refused_total Submissions refused: queue_full (429), tenant_queue_full (429, the tenant's share of the queue) or unavailable (503, systemd or the broker out of reach).
# TYPE pyrunner_runs_refused_total counter
pyrunner_runs_refused_total{reason="queue_full"} 2
pyrunner_runs_refused_total{reason="tenant_queue_full"} 1
pyrunner_runs_refused_total{reason="unavailable"} 0
# HELP pyrunner_runs_finished_total Runs that reached a final status, by that status.
# TYPE pyrunner_runs_finished_total counter
pyrunner_runs_finished_total{status="succeeded"} 3
pyrunner_runs_finished_total{status="failed"} 0
pyrunner_runs_finished_total{status="timed_out"} 0
pyrunner_runs_finished_total{status="out_of_memory"} 1
pyrunner_runs_finished_total{status="output_limit_exceeded"} 0
pyrunner_runs_finished_total{status="cancelled"} 0
pyrunner_runs_finished_total{status="error"} 0
# HELP pyrunner_run_latency_seconds Time from a run's acceptance to its final status (queueing included).
# TYPE pyrunner_run_latency_seconds histogram
pyrunner_run_latency_seconds_bucket{le="0.1"} 2
pyrunner_run_latency_seconds_bucket{le="2.5"} 3
pyrunner_run_latency_seconds_bucket{le="300"} 3
pyrunner_run_latency_seconds_bucket{le="+Inf"} 4
pyrunner_run_latency_seconds_sum 401.4
pyrunner_run_latency_seconds_count 4
# HELP pyrunner_runs_running Runs whose units are running now.
# TYPE pyrunner_runs_running gauge
pyrunner_runs_running 2
# HELP pyrunner_runs_queued Runs waiting for a free slot now.
# TYPE pyrunner_runs_queued gauge
pyrunner_runs_queued 4
# HELP pyrunner_runs_running_max Runs that may run at once.
# TYPE pyrunner_runs_running_max gauge
pyrunner_runs_running_max 2
# HELP pyrunner_runs_queued_max Runs that may wait in the queue.
# TYPE pyrunner_runs_queued_max gauge
pyrunner_runs_queued_max 64
# HELP pyrunner_warm_units Idle warm units waiting for a run, by environment: ready, or still starting.
# TYPE pyrunner_warm_units gauge
pyrunner_warm_units{environment="datascience",state="ready"} 0
pyrunner_warm_units{environment="datascience",state="starting"} 0
pyrunner_warm_units{environment="default",state="ready"} 1
pyrunner_warm_units{environment="default",state="starting"} 1
# HELP pyrunner_systemd_up 1 while the server reaches systemd through its broker, else 0.
# TYPE pyrunner_systemd_up gauge
pyrunner_systemd_up 1
# HELP pyrunner_tenant_runs_accepted_total Runs accepted, by tenant.
# TYPE pyrunner_tenant_runs_accepted_total counter
pyrunner_tenant_runs_accepted_total{tenant="alice"} 4
# HELP pyrunner_tenant_runs_refused_total Submissions refused with 429 or 503, by tenant.
# TYPE pyrunner_tenant_runs_refused_total counter
pyrunner_tenant_runs_refused_total{tenant="alice"} 1
# HELP pyrunner_tenant_runs_finished_total Runs that reached a final status, by tenant and status.
# TYPE pyrunner_tenant_runs_finished_total counter
pyrunner_tenant_runs_finished_total{tenant="alice",status="succeeded"} 3
pyrunner_tenant_runs_finished_total{tenant="alice",status="failed"} 0
pyrunner_tenant_runs_finished_total{tenant="alice",status="timed_out"} 0
pyrunner_tenant_runs_finished_total{tenant="alice",status="out_of_memory"} 0
pyrunner_tenant_runs_finished_total{tenant="alice",status="output_limit_exceeded"} 0
pyrunner_tenant_runs_finished_total{tenant="alice",status="cancelled"} 0
pyrunner_tenant_runs_finished_total{tenant="alice",status="error"} 0
# HELP pyrunner_tenant_cpu_seconds_total CPU time the finished runs of each tenant took.
# TYPE pyrunner_tenant_cpu_seconds_total counter
pyrunner_tenant_cpu_seconds_total{tenant="alice"} 2.5
# HELP pyrunner_tenant_runs_running Runs running now, by tenant.
# TYPE pyrunner_tenant_runs_running gauge
pyrunner_tenant_runs_running{tenant="alice"} 2
# HELP pyrunner_tenant_runs_queued Runs waiting now, by tenant.
# TYPE pyrunner_tenant_runs_queued gauge
pyrunner_tenant_runs_queued{tenant="alice"} 4
# HELP pyrunner_auth_failures_total Requests refused for a missing, unknown or revoked token (401), and those refused because their client failed too often (429).
# TYPE pyrunner_auth_failures_total counter
pyrunner_auth_failures_total{reason="invalid"} 6
pyrunner_auth_failures_total{reason="throttled"} 2
# HELP pyrunner_broker_reconnects_total Times the sandbox broker appeared on the bus again after being away.
# TYPE pyrunner_broker_reconnects_total counter
pyrunner_broker_reconnects_total 1
# HELP pyrunner_callbacks_total Attempts to post a finished run to its callback_url, by result: delivered (2xx), retried (to be tried again) or failed (given up).
# TYPE pyrunner_callbacks_total counter
pyrunner_callbacks_total{result="delivered"} 3
pyrunner_callbacks_total{result="retried"} 2
pyrunner_callbacks_total{result="failed"} 1
# HELP pyrunner_http_responses_total HTTP answers, by status class.
# TYPE pyrunner_http_responses_total counter
pyrunner_http_responses_total{code="1xx"} 0
pyrunner_http_responses_total{code="2xx"} 7
pyrunner_http_responses_total{code="3xx"} 0
pyrunner_http_responses_total{code="4xx"} 3
pyrunner_http_responses_total{code="5xx"} 1
)");
}

TEST(PrometheusText, DefaultLatencyBucketsGoFromTenMillisecondsToFiveMinutes)
{
    const auto text = prometheusText(core::MetricsSnapshot{}, core::Health{});
    EXPECT_NE(text.find("pyrunner_run_latency_seconds_bucket{le=\"0.01\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("pyrunner_run_latency_seconds_bucket{le=\"300\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("pyrunner_run_latency_seconds_sum 0\n"), std::string::npos);
    EXPECT_NE(text.find("pyrunner_systemd_up 0\n"), std::string::npos);
}

class MetricsRouteTest : public ::testing::Test
{
  protected:
    Response call(std::string_view method, std::string_view path, std::string_view body = "")
    {
        Response answer;
        api.handle(Request{method, path, "application/json", body, {}, "192.0.2.9"},
                   [&answer](Response response) { answer = std::move(response); });
        return answer;
    }

    FakeRunService service;
    std::shared_ptr<core::Metrics> metrics = std::make_shared<core::Metrics>();
    Api api{service, ApiOptions{1024, 256, core::LimitPolicy::forCpus(1), metrics}};
};

TEST_F(MetricsRouteTest, ServesTheTextFormatWithTheServicesGauges)
{
    const auto response = call("GET", "/metrics");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.contentType, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(response.body.find("\npyrunner_runs_running 1\n"), std::string::npos);
    EXPECT_NE(response.body.find("\npyrunner_runs_queued 2\n"), std::string::npos);
}

TEST_F(MetricsRouteTest, CountsEveryAnswerByItsClass)
{
    call("GET", "/nowhere");
    call("DELETE", "/healthz");
    call("GET", "/healthz");
    const auto response = call("GET", "/metrics/");
    EXPECT_NE(response.body.find("pyrunner_http_responses_total{code=\"4xx\"} 2\n"),
              std::string::npos);
    EXPECT_NE(response.body.find("pyrunner_http_responses_total{code=\"2xx\"} 1\n"),
              std::string::npos);
    EXPECT_EQ(metrics->snapshot().httpResponses.at(1), 2U);
}

TEST_F(MetricsRouteTest, HandsTheClientAddressToTheRun)
{
    call("POST", "/run-json/", R"json({"code": "print(1)", "wait": false})json");
    ASSERT_EQ(service.submitted().size(), 1U);
    EXPECT_EQ(service.submitted()[0].client, "192.0.2.9");
}

} // namespace
} // namespace pyrunner::http
