using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class Billing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "StripeCustomerId",
                table: "Customers",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SubscriptionStatus",
                table: "Customers",
                maxLength: 32,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "BillingMeters",
                columns: table => new
                {
                    Kind = table.Column<string>(maxLength: 32, nullable: false),
                    EventName = table.Column<string>(maxLength: 100, nullable: false),
                    StripeMeterId = table.Column<string>(maxLength: 64, nullable: false),
                    CreatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BillingMeters", x => x.Kind);
                });

            migrationBuilder.CreateTable(
                name: "BillingPeriods",
                columns: table => new
                {
                    InvoiceId = table.Column<string>(maxLength: 64, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Status = table.Column<string>(maxLength: 32, nullable: false),
                    PeriodStart = table.Column<long>(nullable: false),
                    PeriodEnd = table.Column<long>(nullable: false),
                    AmountDue = table.Column<long>(nullable: false),
                    AmountPaid = table.Column<long>(nullable: false),
                    Currency = table.Column<string>(maxLength: 8, nullable: false),
                    HostedInvoiceUrl = table.Column<string>(maxLength: 1000, nullable: true),
                    UpdatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BillingPeriods", x => x.InvoiceId);
                });

            migrationBuilder.CreateTable(
                name: "ExportBuckets",
                columns: table => new
                {
                    Id = table.Column<long>(nullable: false)
                        .Annotation("Sqlite:Autoincrement", true)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    StripeCustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Meter = table.Column<string>(maxLength: 32, nullable: false),
                    EventName = table.Column<string>(maxLength: 100, nullable: false),
                    BucketStart = table.Column<long>(nullable: false),
                    Sequence = table.Column<int>(nullable: false),
                    Identifier = table.Column<string>(maxLength: 100, nullable: false),
                    Value = table.Column<long>(nullable: false),
                    Records = table.Column<long>(nullable: false),
                    Status = table.Column<string>(maxLength: 16, nullable: false),
                    Attempts = table.Column<int>(nullable: false),
                    NextAttemptAt = table.Column<long>(nullable: false),
                    LastError = table.Column<string>(maxLength: 2000, nullable: true),
                    Transport = table.Column<string>(maxLength: 8, nullable: true),
                    IsCorrection = table.Column<bool>(nullable: false),
                    CreatedAt = table.Column<long>(nullable: false),
                    AcceptedAt = table.Column<long>(nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExportBuckets", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ExportLeases",
                columns: table => new
                {
                    Name = table.Column<string>(maxLength: 64, nullable: false),
                    Holder = table.Column<string>(maxLength: 128, nullable: false),
                    ExpiresAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExportLeases", x => x.Name);
                });

            migrationBuilder.CreateTable(
                name: "ExportQueue",
                columns: table => new
                {
                    RecordId = table.Column<long>(nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    EndedAt = table.Column<long>(nullable: false),
                    PromptTokens = table.Column<long>(nullable: false),
                    CompletionTokens = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ExportQueue", x => x.RecordId);
                });

            migrationBuilder.CreateTable(
                name: "MeterErrorReports",
                columns: table => new
                {
                    Id = table.Column<long>(nullable: false)
                        .Annotation("Sqlite:Autoincrement", true)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    EventId = table.Column<string>(maxLength: 128, nullable: false),
                    MeterId = table.Column<string>(maxLength: 64, nullable: true),
                    Summary = table.Column<string>(maxLength: 8000, nullable: false),
                    ReceivedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_MeterErrorReports", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "ReconciliationRuns",
                columns: table => new
                {
                    Id = table.Column<long>(nullable: false)
                        .Annotation("Sqlite:Autoincrement", true)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    RanAt = table.Column<long>(nullable: false),
                    RangeStart = table.Column<long>(nullable: false),
                    RangeEnd = table.Column<long>(nullable: false),
                    Differences = table.Column<int>(nullable: false),
                    Corrections = table.Column<int>(nullable: false),
                    Report = table.Column<string>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ReconciliationRuns", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "WebhookEvents",
                columns: table => new
                {
                    EventId = table.Column<string>(maxLength: 128, nullable: false),
                    Type = table.Column<string>(maxLength: 128, nullable: false),
                    ReceivedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_WebhookEvents", x => x.EventId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Customers_StripeCustomerId",
                table: "Customers",
                column: "StripeCustomerId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_BillingPeriods_CustomerId_PeriodStart",
                table: "BillingPeriods",
                columns: new[] { "CustomerId", "PeriodStart" });

            migrationBuilder.CreateIndex(
                name: "IX_ExportBuckets_CustomerId_Meter_BucketStart_Sequence",
                table: "ExportBuckets",
                columns: new[] { "CustomerId", "Meter", "BucketStart", "Sequence" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ExportBuckets_Identifier",
                table: "ExportBuckets",
                column: "Identifier",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_ExportBuckets_Status_NextAttemptAt",
                table: "ExportBuckets",
                columns: new[] { "Status", "NextAttemptAt" });

            migrationBuilder.CreateIndex(
                name: "IX_ExportQueue_CustomerId",
                table: "ExportQueue",
                column: "CustomerId");

            migrationBuilder.CreateIndex(
                name: "IX_ReconciliationRuns_RanAt",
                table: "ReconciliationRuns",
                column: "RanAt");

            // Usage recorded before this migration is billable too: it enters the export outbox like new usage.
            migrationBuilder.Sql("""
                INSERT INTO "ExportQueue" ("RecordId", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens")
                SELECT "Id", "CustomerId", "EndedAt", "PromptTokens", "CompletionTokens" FROM "UsageRecords"
                WHERE "PromptTokens" + "CompletionTokens" > 0
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BillingMeters");

            migrationBuilder.DropTable(
                name: "BillingPeriods");

            migrationBuilder.DropTable(
                name: "ExportBuckets");

            migrationBuilder.DropTable(
                name: "ExportLeases");

            migrationBuilder.DropTable(
                name: "ExportQueue");

            migrationBuilder.DropTable(
                name: "MeterErrorReports");

            migrationBuilder.DropTable(
                name: "ReconciliationRuns");

            migrationBuilder.DropTable(
                name: "WebhookEvents");

            migrationBuilder.DropIndex(
                name: "IX_Customers_StripeCustomerId",
                table: "Customers");

            migrationBuilder.DropColumn(
                name: "StripeCustomerId",
                table: "Customers");

            migrationBuilder.DropColumn(
                name: "SubscriptionStatus",
                table: "Customers");
        }
    }
}
