// A development environment: one 4 GB always-ready instance, SQLite on that instance, the Phi-3 mini model.
// The always-ready instance keeps the SQLite ledger (and the loaded model) alive between requests; with 0 the app
// scales to zero and a new instance starts with an empty ledger. Set 0 once the ledger is on PostgreSQL.
// Secrets are read from environment variables when the file is compiled (by az deployment or bicep build-params),
// so they never sit in this file or in shell history; unset variables leave the stored Key Vault secrets as they are.
using 'main.bicep'

param baseName = 'serverless'
param environmentName = 'dev'
param instanceMemoryMB = 4096
param alwaysReadyInstances = 1
param maximumInstanceCount = 1
param maxConcurrentGenerations = 2
param maxQueuedRequests = 8
param modelId = 'phi3-mini'
param enablePostgres = false
param enableKeyVaultPurgeProtection = false
param operatorPrincipalId = readEnvironmentVariable('SERVERLESS_OPERATOR_ID', '')

param keysHashSecret = readEnvironmentVariable('SERVERLESS_KEYS_HASH_SECRET', '')
param adminKey = readEnvironmentVariable('SERVERLESS_ADMIN_KEY', '')
param stripeApiKey = readEnvironmentVariable('STRIPE_API_KEY', '')
param stripeWebhookSecret = readEnvironmentVariable('STRIPE_WEBHOOK_SECRET', '')
param postgresAdministratorPassword = readEnvironmentVariable('SERVERLESS_POSTGRES_PASSWORD', '')
