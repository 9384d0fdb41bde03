using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Serverless.Core.Data.Migrations
{
    /// <inheritdoc />
    public partial class Batches : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "BatchChunks",
                columns: table => new
                {
                    BatchId = table.Column<string>(maxLength: 40, nullable: false),
                    Chunk = table.Column<int>(nullable: false),
                    Completed = table.Column<int>(nullable: false),
                    Failed = table.Column<int>(nullable: false),
                    UpdatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BatchChunks", x => new { x.BatchId, x.Chunk });
                });

            migrationBuilder.CreateTable(
                name: "BatchLineResults",
                columns: table => new
                {
                    RequestId = table.Column<string>(maxLength: 64, nullable: false),
                    BatchId = table.Column<string>(maxLength: 40, nullable: false),
                    Result = table.Column<string>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_BatchLineResults", x => x.RequestId);
                });

            migrationBuilder.CreateTable(
                name: "Batches",
                columns: table => new
                {
                    Id = table.Column<string>(maxLength: 40, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    KeyId = table.Column<string>(maxLength: 32, nullable: false),
                    ModelScope = table.Column<string>(nullable: false),
                    Endpoint = table.Column<string>(maxLength: 64, nullable: false),
                    InputFileId = table.Column<string>(maxLength: 40, nullable: false),
                    CompletionWindow = table.Column<string>(maxLength: 16, nullable: false),
                    Metadata = table.Column<string>(nullable: true),
                    Status = table.Column<string>(maxLength: 16, nullable: false),
                    CreatedAt = table.Column<long>(nullable: false),
                    ExpiresAt = table.Column<long>(nullable: false),
                    InProgressAt = table.Column<long>(nullable: true),
                    FinalizingAt = table.Column<long>(nullable: true),
                    CompletedAt = table.Column<long>(nullable: true),
                    FailedAt = table.Column<long>(nullable: true),
                    ExpiredAt = table.Column<long>(nullable: true),
                    CancellingAt = table.Column<long>(nullable: true),
                    CancelledAt = table.Column<long>(nullable: true),
                    Total = table.Column<int>(nullable: false),
                    Completed = table.Column<int>(nullable: false),
                    Failed = table.Column<int>(nullable: false),
                    InvalidLines = table.Column<int>(nullable: false),
                    Chunks = table.Column<int>(nullable: false),
                    OutputFileId = table.Column<string>(maxLength: 40, nullable: true),
                    ErrorFileId = table.Column<string>(maxLength: 40, nullable: true),
                    Errors = table.Column<string>(nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Batches", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "Files",
                columns: table => new
                {
                    Id = table.Column<string>(maxLength: 40, nullable: false),
                    CustomerId = table.Column<string>(maxLength: 64, nullable: false),
                    Filename = table.Column<string>(maxLength: 512, nullable: false),
                    Purpose = table.Column<string>(maxLength: 32, nullable: false),
                    Bytes = table.Column<long>(nullable: false),
                    BlobName = table.Column<string>(maxLength: 256, nullable: false),
                    CreatedAt = table.Column<long>(nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Files", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_BatchLineResults_BatchId",
                table: "BatchLineResults",
                column: "BatchId");

            migrationBuilder.CreateIndex(
                name: "IX_Batches_CustomerId_CreatedAt",
                table: "Batches",
                columns: new[] { "CustomerId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Files_CustomerId_CreatedAt",
                table: "Files",
                columns: new[] { "CustomerId", "CreatedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "BatchChunks");

            migrationBuilder.DropTable(
                name: "BatchLineResults");

            migrationBuilder.DropTable(
                name: "Batches");

            migrationBuilder.DropTable(
                name: "Files");
        }
    }
}
