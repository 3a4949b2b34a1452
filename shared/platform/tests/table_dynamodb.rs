//! The `Table` contract run against the DynamoDB adapter on the local AWS
//! emulator (`SUNDIAL_TEST_AWS_ENDPOINT`), one fresh table per test.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::TimeToLiveStatus;
use platform::aws::{emulator_config, test_endpoint};
use platform::table::Table;
use platform::table::dynamo::{DynamoTable, create_table};

async fn client() -> Client {
    Client::new(&emulator_config(&test_endpoint()).await)
}

/// A uniquely named table, so tests never see each other's items.
async fn fresh() -> Arc<dyn Table> {
    let client = client().await;
    let name = format!("sundial-contract-{}", uuid::Uuid::now_v7());
    create_table(&client, &name).await.expect("create the test table");
    Arc::new(DynamoTable::new(client, name))
}

platform::table_contract_tests!(fresh);

#[tokio::test]
async fn create_table_is_idempotent_and_enables_ttl() {
    let client = client().await;
    let name = format!("sundial-create-{}", uuid::Uuid::now_v7());
    create_table(&client, &name).await.expect("create");
    create_table(&client, &name).await.expect("creating an existing table succeeds");
    let table = client.describe_table().table_name(&name).send().await.expect("describe").table.expect("table");
    let mut indexes: Vec<_> = table.global_secondary_indexes().iter().filter_map(|g| g.index_name()).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["GSI1", "GSI2"]);
    let ttl = client.describe_time_to_live().table_name(&name).send().await.expect("describe TTL");
    let description = ttl.time_to_live_description().expect("TTL description");
    assert_eq!(description.attribute_name(), Some("ttl"));
    assert!(matches!(description.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)));
}
