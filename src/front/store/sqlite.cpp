#include "front/store/sqlite.hpp"

#include <sqlite3.h>
#include <stdexcept>

namespace pyrunner::core::sqlite
{
namespace
{

// Another process (an operator's sqlite3 shell, say) may hold the lock for a moment.
constexpr int busyTimeoutMs = 5000;

// A null pointer would bind NULL rather than an empty value.
const char* nonNull(std::string_view value)
{
    return value.empty() ? "" : value.data();
}

} // namespace

Database::Database(const std::filesystem::path& file) : file_(file.string())
{
    // No mutex of SQLite's own: the owner already serialises every use.
    constexpr int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
    const int result = sqlite3_open_v2(file_.c_str(), &db_, flags, nullptr);
    if (result != SQLITE_OK)
    {
        // Even a failed open may leave a handle, which holds the message and must be closed.
        const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(result);
        sqlite3_close_v2(db_);
        throw std::runtime_error(file_ + ": cannot open: " + why);
    }
    sqlite3_busy_timeout(db_, busyTimeoutMs);
}

Database::~Database()
{
    sqlite3_close_v2(db_);
}

void Database::execute(const std::string& sql)
{
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    {
        fail("cannot run " + sql);
    }
}

void Database::fail(const std::string& what) const
{
    throw std::runtime_error(file_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

Statement::Statement(const Database& db, const std::string& sql) : db_(db)
{
    // Persistent: each statement is prepared once and used for as long as the store lives.
    if (sqlite3_prepare_v3(db.handle(), sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt_,
                           nullptr) != SQLITE_OK)
    {
        db.fail("cannot prepare " + sql);
    }
}

Statement::~Statement()
{
    sqlite3_finalize(stmt_);
}

int Statement::parameter(const char* name) const
{
    const int index = sqlite3_bind_parameter_index(stmt_, name);
    if (index == 0)
    {
        throw std::runtime_error(db_.file() + ": no parameter " + name + " in " +
                                 sqlite3_sql(stmt_));
    }
    return index;
}

void Statement::checkBind(int result, const char* name) const
{
    if (result != SQLITE_OK)
    {
        db_.fail(std::string("cannot bind ") + name + " in " + sqlite3_sql(stmt_));
    }
}

void Statement::bindNull(const char* name)
{
    checkBind(sqlite3_bind_null(stmt_, parameter(name)), name);
}

void Statement::bindInteger(const char* name, std::int64_t value)
{
    checkBind(sqlite3_bind_int64(stmt_, parameter(name), value), name);
}

void Statement::bindReal(const char* name, double value)
{
    checkBind(sqlite3_bind_double(stmt_, parameter(name), value), name);
}

void Statement::bindText(const char* name, std::string_view value)
{
    checkBind(sqlite3_bind_text64(stmt_, parameter(name), nonNull(value), value.size(),
                                  SQLITE_TRANSIENT, SQLITE_UTF8),
              name);
}

void Statement::bindBlob(const char* name, std::string_view value)
{
    checkBind(
        sqlite3_bind_blob64(stmt_, parameter(name), nonNull(value), value.size(), SQLITE_TRANSIENT),
        name);
}

bool Statement::step()
{
    const int result = sqlite3_step(stmt_);
    if (result == SQLITE_ROW)
    {
        return true;
    }
    if (result != SQLITE_DONE)
    {
        db_.fail(std::string("cannot run ") + sqlite3_sql(stmt_));
    }
    return false;
}

void Statement::run()
{
    // A statement that yields no rows is done after one step.
    step();
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::integer(int column) const
{
    return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const
{
    return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const
{
    // The pointer first, then its length: that is the order SQLite asks for.
    const auto* data = sqlite3_column_text(stmt_, column);
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
    return data != nullptr ? std::string(reinterpret_cast<const char*>(data), size) : std::string();
}

std::string Statement::blob(int column) const
{
    // A zero-length blob comes back as a null pointer.
    const auto* data = sqlite3_column_blob(stmt_, column);
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
    return data != nullptr ? std::string(static_cast<const char*>(data), size) : std::string();
}

void Statement::reset() noexcept
{
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

Transaction::Transaction(Database& db) : db_(db)
{
    db_.execute("BEGIN IMMEDIATE");
}

Transaction::~Transaction()
{
    if (open_)
    {
        // Unchecked: it fails only when SQLite has ended the transaction itself already.
        sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
}

void Transaction::commit()
{
    db_.execute("COMMIT");
    open_ = false;
}

} // namespace pyrunner::core::sqlite
