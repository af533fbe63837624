# IKE message codec tests
secpol_unit_test(test_ike_message test_message.c)
target_link_libraries(test_ike_message PRIVATE secpol_ike)
