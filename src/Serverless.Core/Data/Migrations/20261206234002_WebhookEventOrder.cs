using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class WebhookEventOrder : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "SubscriptionEventCreated",
                table: "Customers",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "SubscriptionId",
                table: "Customers",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "EventCreated",
                table: "BillingPeriods",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "SubscriptionEventCreated",
                table: "Customers");

            migrationBuilder.DropColumn(
                name: "SubscriptionId",
                table: "Customers");

            migrationBuilder.DropColumn(
                name: "EventCreated",
                table: "BillingPeriods");
        }
    }
}
