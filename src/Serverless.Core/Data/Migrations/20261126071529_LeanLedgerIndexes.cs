using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class LeanLedgerIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_UsageRecords_BatchId",
                table: "UsageRecords");

            migrationBuilder.DropIndex(
                name: "IX_UsageRecords_KeyId_EndedAt",
                table: "UsageRecords");

            migrationBuilder.DropIndex(
                name: "IX_Reservations_InstanceId",
                table: "Reservations");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_BatchId",
                table: "UsageRecords",
                column: "BatchId");

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_KeyId_EndedAt",
                table: "UsageRecords",
                columns: new[] { "KeyId", "EndedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Reservations_InstanceId",
                table: "Reservations",
                column: "InstanceId");
        }
    }
}
