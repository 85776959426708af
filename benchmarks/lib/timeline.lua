-- wrk script: per-bucket throughput, failures, non-2xx and max latency, responses per worker, plus wrk's own
-- totals, written as JSON.
-- Run with as many threads as connections (-t N -c N): each thread then drives one connection, so a request is
-- always answered, or failed, before the thread's next request() call. That is what lets a script see latency
-- and failures per request: wrk itself only hands scripts the response.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } qilin_bench_timespec;
int clock_gettime(int clk_id, qilin_bench_timespec *tp);
int usleep(unsigned int usec);
void *pthread_self(void);
]]
local ts = ffi.new("qilin_bench_timespec")
local CLOCK_REALTIME = 0

-- Wall-clock milliseconds, comparable with Date.now() in the primaries that log reload times.
local function now_ms()
  ffi.C.clock_gettime(CLOCK_REALTIME, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local bucket_ms = tonumber(os.getenv("BENCH_BUCKET_MS") or "100")
-- Every thread holds its first request until this wall-clock time. Under full CPU load wrk's main thread
-- is starved while it creates the later threads, so threads would otherwise start seconds apart.
local start_at = tonumber(os.getenv("BENCH_START_AT") or "0")
-- Responses per serving process are also counted from this wall-clock time on (0: not), for the spread over a
-- steady window that leaves out the pool's opening.
local settle_at = tonumber(os.getenv("BENCH_SETTLE_AT") or "0")
local out_path = os.getenv("BENCH_WRK_OUT")

-- Per thread: bucket index -> value.
local req
local started = false
-- When this thread's outstanding request was sent; global so done() can read it from every thread.
sent_at = nil
count = {}
failed = {}
bad = {}
maxlat = {}
-- Responses per serving process, from the app's body (`hello <pid>`): how evenly the workers shared the load.
pids = {}
settled = {}

local function bucket(t)
  return math.floor(t / bucket_ms)
end

local function add(tbl, b, v)
  tbl[b] = (tbl[b] or 0) + v
end

-- init() runs on wrk's main thread, which also calls request() once on the first thread's script to
-- count the requests it returns. That call is not a request sent, and must not hold the main thread.
local main_thread

function init(args)
  req = wrk.format()
  main_thread = ffi.C.pthread_self()
end

function request()
  if ffi.C.pthread_self() == main_thread then return req end
  if not started then
    started = true
    local wait = start_at - now_ms()
    while wait > 0 do
      ffi.C.usleep(math.floor(math.min(wait, 500) * 1000))
      wait = start_at - now_ms()
    end
  end
  local t = now_ms()
  -- The previous request on this thread's connection got no response: wrk hit a read/write error (or a
  -- refused connect) and reconnected. Counted at the time it is noticed.
  if sent_at ~= nil then add(failed, bucket(t), 1) end
  sent_at = t
  return req
end

function response(status, headers, body)
  local t = now_ms()
  local b = bucket(t)
  add(count, b, 1)
  if status < 200 or status > 299 then add(bad, b, 1) end
  local pid = body and string.match(body, "^hello (%d+)$")
  if pid ~= nil then
    pids[pid] = (pids[pid] or 0) + 1
    if settle_at > 0 and t >= settle_at then settled[pid] = (settled[pid] or 0) + 1 end
  end
  if sent_at ~= nil then
    local l = t - sent_at
    if l > (maxlat[b] or 0) then maxlat[b] = l end
  end
  sent_at = nil
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local function merge_into(acc, tbl, how)
  for k, v in pairs(tbl) do
    if how == "max" then
      if v > (acc[k] or 0) then acc[k] = v end
    else
      acc[k] = (acc[k] or 0) + v
    end
  end
end

local timeout_ms = tonumber(os.getenv("BENCH_TIMEOUT_MS") or "2000")

function done(summary, latency, requests)
  local c, f, n, m = {}, {}, {}, {}
  -- Per worker: responses, and how many threads (so, with keep-alive, connections) it answered at least once.
  local p, conns = {}, {}
  local sp, sconns = {}, {}
  -- Requests still unanswered at the end and older than the timeout: wrk counts a timeout only when a late
  -- response does arrive, so a connection left hanging would otherwise go unnoticed.
  local hung = 0
  local now = now_ms()
  for _, thread in ipairs(threads) do
    local outstanding = thread:get("sent_at")
    if outstanding ~= nil and now - outstanding > timeout_ms then hung = hung + 1 end
    merge_into(c, thread:get("count") or {}, "sum")
    merge_into(f, thread:get("failed") or {}, "sum")
    merge_into(n, thread:get("bad") or {}, "sum")
    merge_into(m, thread:get("maxlat") or {}, "max")
    local served = thread:get("pids") or {}
    merge_into(p, served, "sum")
    for pid in pairs(served) do conns[pid] = (conns[pid] or 0) + 1 end
    local steady = thread:get("settled") or {}
    merge_into(sp, steady, "sum")
    for pid in pairs(steady) do sconns[pid] = (sconns[pid] or 0) + 1 end
  end
  local keys, seen = {}, {}
  for _, tbl in ipairs({ c, f, n, m }) do
    for k in pairs(tbl) do
      if not seen[k] then
        seen[k] = true
        table.insert(keys, k)
      end
    end
  end
  table.sort(keys)
  local rows = {}
  for _, k in ipairs(keys) do
    table.insert(rows, string.format("[%d,%d,%d,%d,%.3f]", k * bucket_ms, c[k] or 0, f[k] or 0, n[k] or 0, m[k] or 0))
  end
  local workers, steady = {}, {}
  for pid, responses in pairs(p) do
    table.insert(workers, string.format('"%s":[%d,%d]', pid, responses, conns[pid] or 0))
  end
  for pid, responses in pairs(sp) do
    table.insert(steady, string.format('"%s":[%d,%d]', pid, responses, sconns[pid] or 0))
  end
  local e = summary.errors
  local json = string.format(
    '{"durationUs":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"hung":%d,' ..
    '"latencyUs":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
    '"bucketMs":%d,"buckets":[%s],"workers":{%s},"settledWorkers":{%s}}',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, hung,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    bucket_ms, table.concat(rows, ","), table.concat(workers, ","), table.concat(steady, ","))
  local file = assert(io.open(out_path, "w"))
  file:write(json)
  file:close()
end
