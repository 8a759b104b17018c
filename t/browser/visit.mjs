// Loads one page in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) with the real RUM browser SDK served offline, and prints ONE
// JSON object on stdout describing what happened.
//
//   node t/browser/visit.mjs '<json spec>'
//
// Spec fields:
//   url           page to load (http://127.0.0.1:PORT/...)                     required
//   then_url      same-origin URL to navigate to afterwards, so the SDK flushes
//                 its batch on page hide; default: the page's origin + "/";
//                 null or false: stay on the page
//   wait_ms       extra time to stay on the page after load (and fetches)     default 300
//   wait_for_intake  intake path (e.g. "/api/v2/replay") to stay on the page for
//                 until one request to it was captured, after wait_ms; bounded
//                 by intake_wait_ms. A replay segment is sent 5 s after it
//                 starts, whatever page hide does on a slow machine  default none
//   intake_wait_ms   bound on wait_for_intake                              default 12000
//   fetch         list of URLs the page fetch()es once the SDK is ready      default []
//   stop_session  call DD_RUM.stopSession() before leaving                   default false
//   sdk_wait_ms   how long to wait for DD_RUM to be initialized (before the
//                 fetches); a page without a DD_RUM global, or whose CDN
//                 script CSP blocked, does not wait                        default 10000
//   flush_wait_ms how long to wait for the intake after leaving the page     default 5000
//   timeout_ms    bound on the whole run                                     default 30000
//
// Routes: the official CDN (https://www.datadoghq-browser-agent.com/<region>/v<N>/datadog-rum.js,
// .../v<N>/chunks/*, and the gov form /datadog-rum-v<N>.js) is answered from
// node_modules/rum<N>/bundle/; any browser-intake-* host is captured and answered 202.
// Nothing else leaves the machine: --host-resolver-rules fails every other name.
//
// Output: {url, events, intake_requests, cdn_requests, console, page_errors, csp_violations,
//          requests, html, dd_rum, navigation, sdk_ready_ms, fetch_results, elapsed_ms}
// (t/browser/driver.py documents each field.)
// Exit status: 0 ran (whatever the page did); 2 bad spec; 3 browser launch failure;
// 4 run exceeded timeout_ms; 5 other driver failure. The reason goes to stderr.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'
import { fileURLToPath } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const NODE_MODULES = path.join(HERE, 'node_modules')
const CHROMIUM = process.env.DD_TEST_CHROMIUM || '/usr/bin/chromium'
const CDN_HOST = 'www.datadoghq-browser-agent.com'
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]',
]

let userDataDir = null
let context = null

function removeProfile() {
  if (!userDataDir) return
  try {
    fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 })
  } catch (e) {
    process.stderr.write(`visit.mjs: could not remove ${userDataDir}: ${e.message}\n`)
  }
}

// Closes the browser (bounded: playwright-core also kills it on exit), removes
// the profile, exits with `code`.
async function die(code, message) {
  process.stderr.write(`visit.mjs: ${message}\n`)
  setTimeout(() => process.exit(code), 5000).unref()
  if (context) await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 3000))])
  removeProfile()
  process.exit(code)
}

const T0 = Date.now()
// DD_VISIT_TRACE=1 prints the timing of each phase on stderr.
function phase(name) {
  if (process.env.DD_VISIT_TRACE) process.stderr.write(`visit.mjs: ${Date.now() - T0} ms ${name}\n`)
}

function parseSpec() {
  if (process.argv.length !== 3) die(2, "usage: node visit.mjs '<json spec>'")
  let spec
  try {
    spec = JSON.parse(process.argv[2])
  } catch (e) {
    die(2, `spec is not JSON: ${e.message}`)
  }
  if (!spec || typeof spec !== 'object' || typeof spec.url !== 'string') die(2, 'spec needs a "url" string')
  let origin
  try {
    origin = new URL(spec.url).origin
  } catch (e) {
    die(2, `bad url ${JSON.stringify(spec.url)}`)
  }
  const out = {
    url: spec.url,
    then_url: spec.then_url === undefined ? origin + '/' : spec.then_url || null,
    wait_ms: spec.wait_ms ?? 300,
    fetch: spec.fetch ?? [],
    stop_session: !!spec.stop_session,
    sdk_wait_ms: spec.sdk_wait_ms ?? 10000,
    flush_wait_ms: spec.flush_wait_ms ?? 5000,
    wait_for_intake: spec.wait_for_intake ?? null,
    intake_wait_ms: spec.intake_wait_ms ?? 12000,
    timeout_ms: spec.timeout_ms ?? 30000,
  }
  if (!Array.isArray(out.fetch)) die(2, '"fetch" must be a list of URLs')
  return out
}

function isLoopback(hostname) {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1'
}

// Maps a CDN URL path to a file of node_modules/rum<N>/bundle/, or null.
function cdnFile(pathname) {
  let m = /^\/[a-z0-9-]+\/v(\d+)\/datadog-rum(-slim)?\.js$/.exec(pathname)
  if (m) return path.join(NODE_MODULES, `rum${m[1]}`, 'bundle', `datadog-rum${m[2] || ''}.js`)
  m = /^\/datadog-rum(-slim)?-v(\d+)\.js$/.exec(pathname)
  if (m) return path.join(NODE_MODULES, `rum${m[2]}`, 'bundle', `datadog-rum${m[1] || ''}.js`)
  m = /^\/[a-z0-9-]+\/v(\d+)\/chunks\/([A-Za-z0-9_.-]+\.js)$/.exec(pathname)
  if (m) return path.join(NODE_MODULES, `rum${m[1]}`, 'bundle', 'chunks', m[2])
  // Chunks next to the gov bundle (/chunks/<name>): chunk names carry a content
  // hash, so look for the name in every installed major.
  m = /^\/chunks\/([A-Za-z0-9_.-]+\.js)$/.exec(pathname)
  if (m) {
    for (const dir of fs.readdirSync(NODE_MODULES)) {
      if (!/^rum\d+$/.test(dir)) continue
      const candidate = path.join(NODE_MODULES, dir, 'bundle', 'chunks', m[1])
      if (fs.existsSync(candidate)) return candidate
    }
  }
  return null
}

// Intake bodies: newline-delimited JSON, deflated when compressIntakeRequests is
// on (the SDK then adds dd-evp-encoding=deflate to the URL; the zlib header is
// checked too). Session replay / profiling use multipart bodies: kept as size only.
function decodeIntakeBody(url, buffer) {
  const result = {
    encoding: 'identity', size: buffer ? buffer.length : 0, parsed: false, events: [], parse_error: null, text: null,
  }
  if (!buffer || buffer.length === 0) return result
  let body = buffer
  const deflated = url.searchParams.get('dd-evp-encoding') === 'deflate' ||
    (buffer[0] === 0x78 && [0x01, 0x5e, 0x9c, 0xda].includes(buffer[1]))
  if (deflated) {
    result.encoding = 'deflate'
    try {
      body = zlib.inflateSync(buffer, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    } catch (e) {
      result.parse_error = `inflate failed: ${e.message}`
      return result
    }
  }
  const contentIsJsonLines = /^\/api\/v2\/(rum|logs)$/.test(url.pathname)
  if (!contentIsJsonLines) return result // replay/profiling: multipart, not parsed
  const text = body.toString('utf8')
  result.parsed = true
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    try {
      result.events.push(JSON.parse(line))
    } catch (e) {
      result.parse_error = `line is not JSON: ${e.message}`
      result.text = text.slice(0, 4000)
      break
    }
  }
  return result
}

const INIT_SCRIPT = `(() => {
  const violations = [];
  Object.defineProperty(window, '__ddVisitCspViolations', { value: violations });
  document.addEventListener('securitypolicyviolation', (e) => {
    violations.push({
      source: 'event',
      violated_directive: e.violatedDirective,
      effective_directive: e.effectiveDirective,
      blocked_uri: e.blockedURI,
      disposition: e.disposition,
      original_policy: e.originalPolicy,
      source_file: e.sourceFile,
      line_number: e.lineNumber,
      sample: e.sample,
      document_uri: e.documentURI,
    });
  }, true);
})();`

async function main() {
  const spec = parseSpec()
  const started = Date.now()
  const watchdog = setTimeout(() => die(4, `run exceeded ${spec.timeout_ms} ms (spec: ${JSON.stringify(spec)})`), spec.timeout_ms)
  watchdog.unref()

  if (!fs.existsSync(path.join(NODE_MODULES, 'playwright-core'))) {
    die(3, `${NODE_MODULES}/playwright-core is missing: run "npm ci" in ${HERE} (scripts/setup does)`)
  }
  if (!fs.existsSync(CHROMIUM)) die(3, `${CHROMIUM} is missing: apt-get install chromium (scripts/setup does)`)
  const { chromium } = await import('playwright-core')

  const out = {
    url: spec.url,
    events: [],
    intake_requests: [],
    cdn_requests: [],
    console: [],
    page_errors: [],
    csp_violations: [],
    requests: [],
    html: null,
    dd_rum: { present: false },
    navigation: { status: null, then_status: null, error: null },
  }
  let lastIntakeAt = 0
  const pending = new Set()
  const track = (promise) => {
    pending.add(promise)
    promise.finally(() => pending.delete(promise))
    return promise
  }

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dd-visit-'))
  try {
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        timeout: 15000,
      })
    } catch (e) {
      const lines = e.message.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((l) => l.trim() && !l.includes('<launching>'))
      return die(3, `cannot launch ${CHROMIUM}: ${lines.slice(0, 12).join('\n')}`)
    }

    phase('launched')
    await context.addInitScript({ content: INIT_SCRIPT })

    await context.route((url) => url.hostname === CDN_HOST, async (route) => {
      const request = route.request()
      const url = new URL(request.url())
      const file = cdnFile(url.pathname)
      const entry = { url: request.url(), file: file && path.relative(HERE, file), status: 404 }
      out.cdn_requests.push(entry)
      if (file && fs.existsSync(file)) {
        entry.status = 200
        await route.fulfill({
          status: 200,
          contentType: 'application/javascript',
          headers: { 'access-control-allow-origin': '*', 'cache-control': 'no-store' },
          body: fs.readFileSync(file),
        })
      } else {
        await route.fulfill({ status: 404, contentType: 'text/plain', body: 'not in node_modules\n' })
      }
    })

    await context.route((url) => url.hostname.startsWith('browser-intake-'), async (route) => {
      const request = route.request()
      const url = new URL(request.url())
      let headers
      try {
        headers = await request.allHeaders()
      } catch {
        headers = request.headers()
      }
      const decoded = decodeIntakeBody(url, request.postDataBuffer())
      out.intake_requests.push({
        url: request.url(),
        method: request.method(),
        track: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        encoding: decoded.encoding,
        size: decoded.size,
        parsed: decoded.parsed,
        n_events: decoded.events.length,
        parse_error: decoded.parse_error,
        text: decoded.text,
      })
      if (url.pathname === '/api/v2/rum') out.events.push(...decoded.events)
      lastIntakeAt = Date.now()
      await route.fulfill({
        status: 202,
        contentType: 'application/json',
        headers: { 'access-control-allow-origin': '*' },
        body: '{}',
      })
    })

    context.on('request', (request) => {
      let url
      try {
        url = new URL(request.url())
      } catch {
        return
      }
      if (!isLoopback(url.hostname)) return
      const entry = {
        url: request.url(),
        method: request.method(),
        resource_type: request.resourceType(),
        headers: request.headers(),
        status: null,
        failure: null,
      }
      out.requests.push(entry)
      // Raw headers (with cookies etc.) arrive a little later; don't wait forever.
      track(Promise.race([
        request.allHeaders().then((h) => { entry.headers = h }),
        new Promise((resolve) => setTimeout(resolve, 2000)),
      ]).catch(() => {}))
      track(request.response().then((r) => { if (r) entry.status = r.status() }).catch(() => {}))
    })
    context.on('requestfailed', (request) => {
      const entry = out.requests.find((r) => r.url === request.url() && r.status === null && r.failure === null)
      if (entry) entry.failure = request.failure()?.errorText ?? 'failed'
    })

    const page = context.pages()[0] || (await context.newPage())
    page.on('console', (msg) => {
      const text = msg.text()
      out.console.push({ type: msg.type(), text })
      if (/Content[ -]Security[ -]Policy/i.test(text)) out.csp_violations.push({ source: 'console', text })
    })
    page.on('pageerror', (error) => out.page_errors.push({ message: error.message, stack: error.stack }))

    // 1. The page.
    try {
      const response = await page.goto(spec.url, { waitUntil: 'load', timeout: 10000 })
      out.navigation.status = response ? response.status() : null
    } catch (e) {
      out.navigation.error = e.message.split('\n')[0]
    }

    phase('page loaded')
    // 2. Wait for the SDK (if the page has one) to be initialized; stop waiting
    // early when CSP blocked a script from the CDN (it will not come).
    const hasStub = await page.evaluate(() => typeof window.DD_RUM !== 'undefined').catch(() => false)
    out.sdk_ready_ms = null
    if (hasStub && !out.navigation.error) {
      const outcome = await page
        .waitForFunction(
          (cdnHost) => {
            const rum = window.DD_RUM
            if (rum && typeof rum.getInitConfiguration === 'function' && rum.getInitConfiguration() !== undefined) {
              // init() returns before RUM starts: v7 starts it (and only then
              // traces fetches) once its session manager resolves, which is
              // when getInternalContext() answers. A session that is not
              // sampled never answers, so wait for it at most 2 s.
              const started = typeof rum.getInternalContext === 'function' && rum.getInternalContext() !== undefined
              window.__ddVisitInitSeen ??= Date.now()
              if (started || Date.now() - window.__ddVisitInitSeen > 2000) return 'ready'
              return false
            }
            const blocked = (window.__ddVisitCspViolations || []).some(
              (v) => /^script-src/.test(v.effective_directive) && String(v.blocked_uri).includes(cdnHost))
            return blocked ? 'blocked' : false
          },
          CDN_HOST,
          { timeout: spec.sdk_wait_ms, polling: 50 },
        )
        .then((handle) => handle.jsonValue())
        .catch(() => 'timeout')
      if (outcome === 'ready') out.sdk_ready_ms = Date.now() - started
    }

    phase('sdk ready')
    // 3. Fetches made by the page itself (so the SDK's fetch instrumentation sees them).
    if (spec.fetch.length && !out.navigation.error) {
      out.fetch_results = await page
        .evaluate(async (urls) => {
          const results = []
          for (const u of urls) {
            try {
              const r = await fetch(u)
              await r.text()
              results.push({ url: u, status: r.status })
            } catch (e) {
              results.push({ url: u, error: String(e) })
            }
          }
          return results
        }, spec.fetch)
        .catch((e) => [{ error: e.message.split('\n')[0] }])
    }

    phase('fetched')
    if (spec.wait_ms > 0) await page.waitForTimeout(spec.wait_ms)
    if (spec.wait_for_intake) {
      const deadline = Date.now() + spec.intake_wait_ms
      while (Date.now() < deadline && !out.intake_requests.some((r) => r.track === spec.wait_for_intake)) {
        await page.waitForTimeout(50)
      }
    }

    phase('waited')
    // 4. What the first page looks like now.
    const snapshot = await page
      .evaluate(() => {
        const rum = window.DD_RUM
        const json = (f) => {
          try {
            const v = f()
            return v === undefined ? null : JSON.parse(JSON.stringify(v))
          } catch (e) {
            return { error: String(e) }
          }
        }
        return {
          html: document.documentElement ? document.documentElement.outerHTML : null,
          violations: (window.__ddVisitCspViolations || []).slice(),
          dd_rum: rum === undefined
            ? { present: false }
            : {
                present: true,
                version: rum.version ?? null,
                loaded: typeof rum.getInitConfiguration === 'function',
                initialized: typeof rum.getInitConfiguration === 'function' &&
                  rum.getInitConfiguration() !== undefined,
                init_configuration: typeof rum.getInitConfiguration === 'function'
                  ? json(() => rum.getInitConfiguration()) : null,
                internal_context: typeof rum.getInternalContext === 'function'
                  ? json(() => rum.getInternalContext()) : null,
              },
        }
      })
      .catch((e) => ({ html: null, violations: [], dd_rum: { present: false, error: e.message.split('\n')[0] } }))
    out.html = snapshot.html
    out.dd_rum = snapshot.dd_rum
    out.csp_violations.unshift(...snapshot.violations)

    if (spec.stop_session) {
      await page.evaluate(() => window.DD_RUM && window.DD_RUM.stopSession && window.DD_RUM.stopSession()).catch(() => {})
    }

    phase('snapshot taken')
    // 5. Leave the page so the SDK flushes on page hide, then wait for the intake to go quiet.
    if (spec.then_url) {
      try {
        const response = await page.goto(spec.then_url, { waitUntil: 'load', timeout: 10000 })
        out.navigation.then_status = response ? response.status() : null
      } catch (e) {
        out.navigation.then_error = e.message.split('\n')[0]
      }
    }
    if (out.dd_rum.initialized) {
      const deadline = Date.now() + spec.flush_wait_ms
      const sawView = () => out.events.some((e) => e.type === 'view')
      while (Date.now() < deadline) {
        const quiet = lastIntakeAt && Date.now() - lastIntakeAt > 300
        if (sawView() && quiet) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    phase('flushed')
    await Promise.allSettled([...pending])
  } finally {
    if (context) await context.close().catch(() => {})
    context = null
    removeProfile()
  }
  phase('closed')
  out.elapsed_ms = Date.now() - started
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => die(5, e.stack || String(e)))
