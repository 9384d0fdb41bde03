using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class Ledger : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "BudgetUsage",
                columns: table => new
                {
                    Scope = table.Column<string>(maxLength: 16, nullable: false),
                    ScopeId = table.Column<string>(maxLength: 64, nullable: false),
                    PeriodStart = table.Column<long>(nullable: false),
                    SpentMicroUsd = table.Column<long>(nullable: false),
                    ReservedMicroUsd = table.Column<long>(nullable: false),
                    SpentTokens = table.Column<long>(nullable: false),
                    ReservedTokens = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BudgetUsage", x => new { x.Scope, x.ScopeId, x.PeriodStart });
                });

            migrationBuilder.CreateTable(
                name: "IdempotencyEntries",
                columns: table => new
                {
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Key = table.Column<string>(maxLength: 255, nullable: false),
                    RequestHash = table.Column<string>(maxLength: 96, nullable: false),
                    RequestId = table.Column<string>(maxLength: 64, nullable: false),
                    Result = table.Column<string>(nullable: true),
                    CreatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_IdempotencyEntries", x => new { x.CustomerId, x.Key });
                });

            migrationBuilder.CreateTable(
                name: "Instances",
                columns: table => new
                {
                    InstanceId = table.Column<string>(maxLength: 128, nullable: false),
                    Machine = table.Column<string>(maxLength: 128, nullable: false),
                    ProcessId = table.Column<int>(nullable: false),
                    StartedAt = table.Column<long>(nullable: false),
                    LastSeenAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Instances", x => x.InstanceId);
                });

            migrationBuilder.CreateTable(
                name: "LimitPolicies",
                columns: table => new
                {
                    Scope = table.Column<string>(maxLength: 16, nullable: false),
                    ScopeId = table.Column<string>(maxLength: 64, nullable: false),
                    RequestsPerMinute = table.Column<long>(nullable: true),
                    TokensPerMinute = table.Column<long>(nullable: true),
                    SpendCapMicroUsd = table.Column<long>(nullable: true),
                    TokenCap = table.Column<long>(nullable: true),
                    UpdatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LimitPolicies", x => new { x.Scope, x.ScopeId });
                });

            migrationBuilder.CreateTable(
                name: "Prices",
                columns: table => new
                {
                    Id = table.Column<long>(nullable: false)
                        .Annotation("Sqlite:Autoincrement", true)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Model = table.Column<string>(maxLength: 128, nullable: false),
                    InputMicroUsdPerMillion = table.Column<long>(nullable: false),
                    OutputMicroUsdPerMillion = table.Column<long>(nullable: false),
                    BatchDiscountBasisPoints = table.Column<long>(nullable: false),
                    EffectiveFrom = table.Column<long>(nullable: false),
                    CreatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Prices", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "RateWindows",
                columns: table => new
                {
                    Scope = table.Column<string>(maxLength: 16, nullable: false),
                    ScopeId = table.Column<string>(maxLength: 64, nullable: false),
                    WindowStart = table.Column<long>(nullable: false),
                    Requests = table.Column<long>(nullable: false),
                    Tokens = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_RateWindows", x => new { x.Scope, x.ScopeId, x.WindowStart });
                });

            migrationBuilder.CreateTable(
                name: "Reservations",
                columns: table => new
                {
                    RequestId = table.Column<string>(maxLength: 64, nullable: false),
                    KeyId = table.Column<string>(maxLength: 32, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Model = table.Column<string>(maxLength: 128, nullable: false),
                    InstanceId = table.Column<string>(maxLength: 128, nullable: false),
                    PriceVersion = table.Column<long>(nullable: false),
                    InputMicroUsdPerMillion = table.Column<long>(nullable: false),
                    OutputMicroUsdPerMillion = table.Column<long>(nullable: false),
                    DiscountBasisPoints = table.Column<long>(nullable: false),
                    PromptTokens = table.Column<long>(nullable: false),
                    MaxTokens = table.Column<long>(nullable: false),
                    ReservedMicroUsd = table.Column<long>(nullable: false),
                    PeriodStart = table.Column<long>(nullable: false),
                    WindowStart = table.Column<long>(nullable: false),
                    StartedAt = table.Column<long>(nullable: false),
                    BatchId = table.Column<string>(maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Reservations", x => x.RequestId);
                });

            migrationBuilder.CreateTable(
                name: "UsageRecords",
                columns: table => new
                {
                    Id = table.Column<long>(nullable: false)
                        .Annotation("Sqlite:Autoincrement", true)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RequestId = table.Column<string>(maxLength: 64, nullable: false),
                    KeyId = table.Column<string>(maxLength: 32, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Model = table.Column<string>(maxLength: 128, nullable: false),
                    PromptTokens = table.Column<long>(nullable: false),
                    CompletionTokens = table.Column<long>(nullable: false),
                    CachedPromptTokens = table.Column<long>(nullable: false),
                    PriceVersion = table.Column<long>(nullable: false),
                    CostMicroUsd = table.Column<long>(nullable: false),
                    StartedAt = table.Column<long>(nullable: false),
                    EndedAt = table.Column<long>(nullable: false),
                    Outcome = table.Column<string>(maxLength: 32, nullable: false),
                    InstanceId = table.Column<string>(maxLength: 128, nullable: false),
                    BatchId = table.Column<string>(maxLength: 64, nullable: true),
                    CorrectsRequestId = table.Column<string>(maxLength: 64, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UsageRecords", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_IdempotencyEntries_CreatedAt",
                table: "IdempotencyEntries",
                column: "CreatedAt");

            migrationBuilder.CreateIndex(
                name: "IX_Prices_Model_EffectiveFrom",
                table: "Prices",
                columns: new[] { "Model", "EffectiveFrom" });

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_InstanceId",
                table: "Reservations",
                column: "InstanceId");

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_BatchId",
                table: "UsageRecords",
                column: "BatchId");

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_CustomerId_EndedAt",
                table: "UsageRecords",
                columns: new[] { "CustomerId", "EndedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_KeyId_EndedAt",
                table: "UsageRecords",
                columns: new[] { "KeyId", "EndedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_RequestId",
                table: "UsageRecords",
                column: "RequestId",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BudgetUsage");

            migrationBuilder.DropTable(
                name: "IdempotencyEntries");

            migrationBuilder.DropTable(
                name: "Instances");

            migrationBuilder.DropTable(
                name: "LimitPolicies");

            migrationBuilder.DropTable(
                name: "Prices");

            migrationBuilder.DropTable(
                name: "RateWindows");

            migrationBuilder.DropTable(
                name: "Reservations");

            migrationBuilder.DropTable(
                name: "UsageRecords");
        }
    }
}
