"""The words and templates synthetic sessions are made of. Templates name their blanks after
WORDS' keys; generator.text fills each blank with a fresh pick."""

from __future__ import annotations

WORDS = {
    "verb": ["Fix", "Add", "Refactor", "Update", "Migrate", "Remove", "Investigate", "Upgrade",
             "Document", "Speed up", "Clean up", "Harden"],
    "task": ["fix", "refactor", "update", "clean up", "investigate", "speed up", "add tests for"],
    "thing": ["authentication bug", "flaky integration test", "pagination of the orders endpoint",
              "retry logic", "CSV export", "rate limiter", "login redirect loop",
              "memory leak in the worker", "N+1 query on the dashboard", "webhook signature check",
              "search indexing job", "dark mode toggle", "timezone handling", "feature flags",
              "Dockerfile", "CI workflow", "type hints", "error messages", "database migration",
              "caching layer"],
    "component": ["billing-service", "api-gateway", "the web dashboard", "the mobile app",
                  "data-pipeline", "auth-service", "the admin console", "search", "notifications",
                  "the CLI"],
    "project": ["ENG", "PLAT", "WEB", "DATA", "OPS"],
    "num": [str(n) for n in range(2, 100)],
    "file": ["src/auth/jwt.py", "app/models/order.rb", "services/billing/invoice.go",
             "web/src/components/Table.tsx", "api/routes/sessions.ts", "pipeline/transform.py",
             "internal/cache/redis.go", "config/settings.yaml", "migrations/0042_add_index.sql",
             "Dockerfile", ".github/workflows/ci.yml", "package.json", "pyproject.toml"],
    "test": ["tests/test_auth.py::test_expired_token", "spec/models/order_spec.rb",
             "web/src/components/Table.test.tsx", "internal/cache/redis_test.go",
             "tests/integration/test_export.py"],
    "cmd": ["npm test", "pytest -x -q", "go test ./...", "bundle exec rspec", "make lint",
            "docker compose up -d", "yarn build", "cargo test", "poetry install", "npm ci"],
    "error": ["a KeyError", "a NullPointerException", "a 500 from the upstream API", "a timeout",
              "a race condition", "an off-by-one error", "a missing environment variable",
              "an expired certificate", "a stale cache entry", "a circular import"],
    "lib": ["requests", "React Query", "SQLAlchemy", "Django REST framework", "Express",
            "Sidekiq", "Celery", "Prisma", "gRPC", "Redis"],
    "action": ["open the billing page", "export a report", "log in with SSO", "upload a file",
               "search for an order", "reset their password"],
}  # fmt: skip
TITLES = ["{verb} {thing} in {component}", "{verb} {thing}", "{component}: {task} {thing}",
          "[{project}-{num}{num}] {verb} {thing}"]  # fmt: skip
MESSAGES = [
    "Hey Devin, can you {task} the {thing} in {component}? Users report {error} when they "
    "{action}. The code is probably in `{file}`. Please add a test and open a PR when you're done.",
    "Hi Devin! Two things for {component} today. First, {task} the {thing}: it has been slow since "
    "we upgraded {lib}, and `{test}` now takes {num} seconds. Second, the {thing} in `{file}` "
    "throws {error} when a user tries to {action}; please reproduce it before changing anything.\n"
    "\nConstraints:\n- keep the public API unchanged\n- run `{cmd}` and `{cmd}` before pushing\n"
    "- one PR per change, each linked to {project}-{num}{num}\n\nThanks!",
    "We need to {task} the {thing} before the next release. Start from `{file}` and make sure "
    "`{cmd}` passes. Ticket: {project}-{num}{num}. Keep the change small; {component} is owned by "
    "another team and they will review it.",
    "{verb} {thing} in {component}.",
    "Bonjour Devin ! Peux-tu corriger le {thing} dans {component} ? Les utilisateurs voient "
    "{error} quand ils veulent {action}. Le code est dans `{file}` ; lance `{cmd}` avant la PR. "
    "Merci 🙏",
    "请修复 {component} 中的 {thing}：用户在 {action} 时遇到 {error}。相关代码在 `{file}`，"
    "提交 PR 前请运行 `{cmd}`。",
    "Our nightly job in {component} crashed again:\n\n```\nTraceback (most recent call last):\n"
    '  File "{file}", line {num}, in run\n    result = client.fetch(batch)\n'
    "RuntimeError: {error} while talking to {lib}\n```\n\nPlease find out why, fix it in "
    "`{file}`, and add a regression test next to `{test}`. Run `{cmd}` before opening the PR and "
    "mention {project}-{num}{num} in the description so the on-call engineer can follow up.",
    "Since last week {component} fails with {error} about one request in {num}. Reproduce it, find "
    "the root cause and fix it. Logs point at `{file}`; `{test}` may help. Do not upgrade {lib} "
    "in the same PR.\n\nContext: this blocks the {project} migration, so please prioritise it.",
]
TIMELINE_TITLES = [
    "Set up the environment", "Cloned the repository", "Installed dependencies",
    "Read the relevant code", "Reproduced the issue", "Ran the test suite",
    "Identified the root cause", "Implemented the fix", "Added tests", "Fixed lint errors",
    "Waited for CI", "Addressed review comments", "Opened a pull request",
    "Asked the user for clarification", "Updated documentation", "Investigated a failing check",
]  # fmt: skip
TIMELINE_TEXTS = [
    "Devin ran `{cmd}` and saw {num} failing tests, the first one in `{test}`. The failures all "
    "pointed at {error} raised from `{file}`.",
    "Devin read `{file}` and the code that calls it to understand how the {thing} works today. It "
    "noted that the module depends on {lib} in a way the tests do not cover.",
    "Devin changed `{file}` so that {error} is handled instead of crashing the request. It kept "
    "the public interface unchanged to avoid touching other callers in {component}.",
    "Devin installed the dependencies with `{cmd}`. The first attempt failed because of {error}, "
    "which Devin fixed by pinning {lib} to a compatible version.",
    "Devin added a regression test in `{test}` that reproduces the original report. The test "
    "failed before the change and passes after it.",
    "Devin opened a pull request against the default branch and linked it in the chat. CI "
    "started running `{cmd}` on the branch.",
    "CI reported {error} in an unrelated job. Devin re-ran the job, confirmed the failure was "
    "flaky, and left a note on the pull request.",
    "Devin asked the user whether the change to {component} should be behind a feature flag. "
    "The user answered that it should ship directly.",
    "Devin searched the repository for other uses of {lib} and found {num} call sites with the "
    "same pattern. It updated them in the same change to keep behaviour consistent.",
    "Devin could not reproduce the problem at first because of {error}. After setting the "
    "missing configuration it saw the same behaviour as the user.",
    "Devin compared the behaviour of {component} before and after the change by running `{cmd}` "
    "on both branches. The numbers matched except for `{test}`, which now passes, and the logs no "
    "longer mention {error}. Devin summarised the comparison in the pull request description.",
]
ISSUE_TEXTS = [
    "Devin spent {num} minutes waiting for `{cmd}` because the environment had no cache. The same "
    "step runs in every session on {component}, so the time adds up quickly.",
    "The README does not say that {lib} needs a running service, so the first test run failed.",
    "Tests in `{test}` are flaky and failed intermittently with {error}. Devin re-ran them {num} "
    "times before it could tell its own failures from the existing ones.",
    "The prompt did not say which branch to start from, so Devin had to guess.",
    "Devin lacked permission to push to {component} and had to ask the user.",
    "Secrets for the staging environment were missing, which caused {error}.",
]
ACTION_TEXTS = [
    "Add a setup step that runs `{cmd}` before the session starts.",
    "Document in Knowledge that {component} needs {lib} configured locally.",
    "Create a playbook for the {thing} so future sessions follow the same steps.",
    "Store the staging credentials as a secret so Devin can run the integration tests.",
    "Pin {lib} in the environment snapshot to avoid {error}.",
    "Mention the target branch and the expected test command (`{cmd}`) in the prompt.",
]
FEEDBACK_DETAILS = [
    "The prompt should name the failing endpoint and paste the error, here {error}.",
    "Saying which tests must pass (`{cmd}`) would have saved a round trip with the user.",
    "Pointing Devin at `{file}` up front would have skipped {num} minutes of exploration.",
    "Acceptance criteria were implicit; state them as a checklist.",
]
FEEDBACK_SUMMARIES = ["Prompt too vague", "Missing acceptance criteria", "No reproduction steps",
                      "Unclear target branch", "Conflicting instructions",
                      "Missing test command"]  # fmt: skip
TAGS = ["bug-fix", "feature", "refactor", "tests", "docs", "ci", "dependencies", "frontend",
        "backend", "infra", "security", "performance", "migration", "auth", "data",
        "api"]  # fmt: skip
LABELS = ["Configuration", "Environment", "Dependencies", "Testing", "Permissions",
          "Ambiguous instructions", "Code quality", "Performance"]  # fmt: skip
ACTION_TYPES = ["machine_setup", "knowledge", "playbook", "prompt", "repo_setup", "secrets"]
OWNERS = ["acme", "acme-labs", "globex", "initech"]
REPOS = ["web-app", "api-gateway", "billing-service", "data-pipeline", "mobile-app", "infra",
         "auth-service", "search", "docs"]  # fmt: skip
STATUSES = ("exit", "error", "suspended", "running", "resuming", "new", "claimed")
STATUS_WEIGHTS = {  # by whether the session is fresh (< 1 day old): those are often still going
    False: (80, 9, 5, 2, 1.5, 1.5, 1),
    True: (35, 7, 8, 30, 5, 8, 7),
}

# v3 only: fields v2 does not have. Enum values as v3.md lists them; a few it does not.
V3_STATUS_DETAILS = {
    "running": (("working", 50), ("waiting_for_user", 18), ("waiting_for_approval", 8),
                ("finished", 22), ("compacting", 2)),
    "suspended": (("inactivity", 40), ("user_request", 20), ("usage_limit_exceeded", 8),
                  ("out_of_credits", 5), ("out_of_quota", 5), ("no_quota_allocation", 3),
                  ("payment_declined", 2), ("org_usage_limit_exceeded", 6),
                  ("total_session_limit_exceeded", 5), ("error", 6)),
}  # fmt: skip
ORIGINS = (("webapp", 45), ("slack", 20), ("api", 10), ("cli", 5), ("teams", 3), ("linear", 4),
           ("jira", 3), ("automation", 2), ("desktop", 2), ("scheduled", 2), ("code_scan", 1),
           ("other", 1), ("vscode", 1))  # fmt: skip
CATEGORIES = {
    "bug_fixing": ["Logic error", "Crash", "Regression", "Flaky test"],
    "ci_cd_and_devops": ["CI pipeline", "Deployment", "Docker"],
    "code_quality_and_security": ["Linting", "Dependency audit"],
    "code_review": ["Pull request review"],
    "code_review_and_analysis": ["Code walkthrough", "Architecture review"],
    "data_and_automation": ["ETL job", "Scripting"],
    "documentation_and_content": ["README", "API docs"],
    "feature_development": ["New endpoint", "UI feature", "Integration"],
    "migrations_and_upgrades": ["Framework upgrade", "Database migration"],
    "other": [],
    "production_investigation": ["Incident", "Performance regression"],
    "refactoring_and_optimization": ["Refactor", "Performance"],
    "research_and_exploration": ["Spike", "Codebase question"],
    "security": ["Vulnerability fix"],
    "unit_test_generation": ["Unit tests", "Coverage"],
    "performance_tuning": ["Query tuning"],  # not in any published list
}
CLASSIFICATIONS = ["Bug fix", "Feature development", "Refactoring", "Testing", "DevOps",
                   "Documentation", "Investigation", "Dependency upgrade"]  # fmt: skip
LANGUAGES = ["Python", "TypeScript", "JavaScript", "Go", "Ruby", "Java", "Rust", "SQL", "YAML",
             "Shell", "Kotlin"]  # fmt: skip
TOOLS = ["pytest", "React", "Django", "FastAPI", "Express", "Docker", "GitHub Actions",
         "PostgreSQL", "Redis", "Terraform", "Jest", "Rails", "Kubernetes"]  # fmt: skip
COLORS = (("green", 40), ("blue", 25), ("yellow", 15), ("red", 15), ("gray", 5))
V3_ACTION_TYPES = {"machine_setup": "machine_setup", "knowledge": "knowledge",
                   "playbook": "other", "prompt": "prompt_improvement",
                   "repo_setup": "repo_config", "secrets": "machine_setup"}  # fmt: skip
NOTE_MESSAGES = [
    "Followed the note on running `{cmd}` before pushing",
    "Used the note saying {component} needs {lib} configured locally",
    "Ignored the note about the target branch for {component}",
    "Applied the note on pinning {lib}",
]
NOTE_REASONS = ["Applied at setup", "Saved a round trip", "The note was out of date",
                "The note did not apply to this repository"]  # fmt: skip

# Free text as a language model writes it (generator's text="llm", see llm.py): the analysis's
# labels, impacts, action item types and feedback summaries. Recurring ones come first, most
# common first; llm.py varies their case, spacing and trailing punctuation.
LLM_LABELS = ["Flaky test", "Missing environment variable", "Dependency installation failed",
              "Ambiguous instructions", "Lint errors", "CI timeout", "Missing permissions",
              "Merge conflict", "Slow test suite", "Outdated documentation", "Build failure",
              "Type errors", "Secrets not configured", "Database migration failed",
              "Docker build failed", "Rate limited by an external API", "Wrong base branch",
              "Incomplete requirements", "Network timeout", "Version mismatch",
              "Pre-commit hook failure", "Broken main branch", "Missing test fixtures",
              "Authentication failure", "Out of memory", "Unclear acceptance criteria",
              "Нестабильный тест", "依赖安装失败", "متغير بيئة مفقود", "Dépendance manquante",
              "テストが不安定", "Zeitüberschreitung im CI", "Build cassé 💥"]  # fmt: skip
LLM_SEVERITIES = (("High", 34), ("Medium", 36), ("Low", 22), ("Critical", 5), ("Minor", 3))
LLM_TYPES = ["machine_setup", "repo_config", "knowledge", "prompt_improvement", "playbook",
             "other", "Machine setup", "Repo config", "Knowledge", "Prompt improvement",
             "Playbook", "Environment setup", "Documentation", "Testing"]  # fmt: skip
LLM_SUMMARIES = ["Prompt too vague", "Missing acceptance criteria", "No reproduction steps",
                 "Unclear target branch", "Conflicting instructions", "Missing test command",
                 "Too many tasks in one prompt", "No link to the ticket"]  # fmt: skip
# Templates of one-off texts: nearly every analysis words its finding its own way.
LLM_LABEL_TEMPLATES = [
    "{error} in `{file}` line {line}",
    "`{test}` fails after upgrading {lib} to {version}",
    "{thing} broken in {component} since {project}-{num}{num}",
    "Devin could not {action} because of {error} (attempt {num})",
    "`{cmd}` exits with code {code} on line {line}",
    "{lib} {version} incompatible with {lib} {version}",
    "Missing {lib} {version} configuration for {component}",
    "Timeout after {num}.{num} s while running `{cmd}`",
    "Got {error} from {component} (request {hex})",
    "{verb} {thing}: {num} tests in `{test}` were skipped",
    "Port {port} already in use when starting {component}",
    "Environment lacks {lib} {version}; `{cmd}` failed with {error}",
]
LLM_FOREIGN_TEMPLATES = [
    "在 `{file}` 中出现 {error}，第 {line} 行",
    "`{cmd}` 执行失败（退出码 {code}，第 {line} 行）",
    "Тест `{test}` падает после обновления {lib} до {version}",
    "Ошибка {error} в {component} (строка {line})",
    "فشل الأمر `{cmd}` بسبب {error} في السطر {line}",
    "تعذّر تثبيت {lib} {version}",
    "`{file}` の {line} 行目で {error} が発生",
    "{component}에서 {error} 발생 (줄 {line})",
    "`{cmd}` में त्रुटि: {error} (पंक्ति {line})",
    "Lỗi {error} khi chạy `{cmd}` ở dòng {line}",
    "Σφάλμα {error} στο `{file}` γραμμή {line}",
    "🔥 {error} in `{file}`:{line} 🔥",
    "⚠️ `{cmd}` flaky on {component} ({num}.{num}% of runs) 🤷",
]
LLM_IMPACT_TEMPLATES = [
    "Blocked the session for {num} minutes ({project}-{num}{num})",
    "Devin could not run `{cmd}`, so PR #{line} was opened without the tests passing",
    "Cost about {num}.{num} ACUs in retries",
    "The fix in `{file}` line {line} is incomplete and needs a human follow-up",
    "High: {component} could not be deployed for {num} min",
    "Medium — slowed the session down by ~{num} min",
    "low ({num} lines of cosmetic changes only)",
    "Сессия заблокирована на {num} минут",
    "阻塞了会话 {num} 分钟",
    "تأخير {num} دقيقة",
]
LLM_TYPE_TEMPLATES = [
    "Add {lib} {version} to the environment snapshot",
    "Update Knowledge: {component} needs {lib} {version}",
    "Create a playbook for the {thing} ({project}-{num}{num})",
    "Pin {lib} to {version}",
    "Document `{cmd}` in the README, section {num}",
    "Give Devin access to {component} (ticket {hex})",
    "Split the prompt for {component} into {num} smaller tasks",
    "Добавить {lib} {version} в окружение",
    "在提示中说明要运行 `{cmd}`（第 {line} 行）",
]
LLM_TITLES = ["Explored the repository", "Ran `{cmd}`", "Read `{file}`", "Edited `{file}`",
              "Investigated {error}", "Re-ran `{test}`", "Waited for CI ({num} s)",
              "Asked the user about {component}", "Pushed a fix for {thing}",
              "Searched for uses of {lib}"]  # fmt: skip
LLM_LOG_LINES = [
    "{stamp} INFO  {component}: starting `{cmd}`",
    "{stamp} WARN  {lib} is deprecated, falling back ({hex})",
    "{stamp} ERROR {error} in `{file}` line {line}",
    '  File "{file}", line {line}, in handler',
    "    raise RuntimeError('{error} while talking to {lib}')",
    "{stamp} DEBUG retry {num}/{num} after {num} ms",
    "{stamp} 错误 {error}：`{file}` 第 {line} 行",
    "{stamp} ОШИБКА {error} в `{file}`",
    "{stamp} خطأ {error} في `{file}`",
    "{stamp} ✅ `{test}` passed · ❌ `{test}` failed",
]
