#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

// The C API's handles, declared here so that only sqlite.cpp includes <sqlite3.h>.
struct sqlite3;
struct sqlite3_stmt;

// A thin RAII layer over the SQLite C API. Every failure throws std::runtime_error naming
// the database file and quoting SQLite's own message. Nothing here locks: the owner of a
// Database serialises every use of it and of its statements.
namespace pyrunner::core::sqlite
{

class Database
{
  public:
    // Opens an existing database file read-write, never through a symbolic link.
    explicit Database(const std::filesystem::path& file);
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    Database(Database&&) = delete;
    Database& operator=(Database&&) = delete;
    ~Database();

    // Runs SQL that takes no parameters and yields no rows: schema, pragmas, BEGIN/COMMIT.
    void execute(const std::string& sql);

    // Throws "<file>: <what>: <SQLite's message for the last failed call>".
    [[noreturn]] void fail(const std::string& what) const;

    const std::string& file() const { return file_; }
    sqlite3* handle() const { return db_; }

  private:
    std::string file_;
    sqlite3* db_ = nullptr;
};

// A prepared statement with named parameters (":id"). Bindings are copied, so what they
// came from may go at once.
class Statement
{
  public:
    Statement(const Database& db, const std::string& sql);
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&&) = delete;
    Statement& operator=(Statement&&) = delete;
    ~Statement();

    void bindNull(const char* name);
    void bindInteger(const char* name, std::int64_t value);
    void bindReal(const char* name, double value);
    void bindText(const char* name, std::string_view value);
    // Any bytes, NUL included.
    void bindBlob(const char* name, std::string_view value);

    // Moves to the next row: true while there is one, false once the statement is done.
    bool step();
    // Runs a statement that yields no rows.
    void run();

    // The current row's columns, counted from 0.
    bool isNull(int column) const;
    std::int64_t integer(int column) const;
    double real(int column) const;
    std::string text(int column) const;
    std::string blob(int column) const;

    // Back to before the first step with no bindings: a reset statement holds no read
    // snapshot (which would keep the WAL from being checkpointed) nor copies of its inputs.
    void reset() noexcept;

  private:
    int parameter(const char* name) const;
    void checkBind(int result, const char* name) const;

    const Database& db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// One use of a statement: resets it when the use ends, however it ends.
class Use
{
  public:
    explicit Use(Statement& statement) : statement_(statement) {}
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    Use(Use&&) = delete;
    Use& operator=(Use&&) = delete;
    ~Use() { statement_.reset(); }

  private:
    Statement& statement_;
};

// BEGIN IMMEDIATE (the write lock at once, so no later statement can fail to get it) ...
// COMMIT; rolled back unless committed.
class Transaction
{
  public:
    explicit Transaction(Database& db);
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    void commit();

  private:
    Database& db_;
    bool open_ = true;
};

} // namespace pyrunner::core::sqlite
