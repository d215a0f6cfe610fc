"""Generate `seeds/demo_smes.json`: about 300 fictional SMEs with financing needs.

Deterministic (fixed random seed): running it again gives the same file byte for byte, so the
committed data file and this script stay in step. Run from the repository root:

    python -m seeds.generate_demo_smes          # writes seeds/demo_smes.json
    python -m seeds.generate_demo_smes --check  # exits 1 if the committed file is stale

Every enterprise gets a valid 统一社会信用代码 (GB 32100-2015): "91" (enterprise registered with
the market-regulation authority), the six-digit code of its district or city, a nine-character
organisation code (GB 11714 check character included; "MA…" for companies founded since 2016,
as real ones are) and the check character. Sizes stay within the SME ceilings of the 2011 rules.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import yaml

from market.credit_code import ALPHABET, is_valid_credit_code, make_credit_code
from market.enums import SizeClass
from market.sizing import classify_size

SEED = 20240819  # the day Hangzhou's AI measures took effect
COUNT = 300
HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "demo_smes.json"
WAN = 10_000

# --- where they are ------------------------------------------------------------------------
# (region code, weight, name prefix, telephone area code)
HANGZHOU = [("330108", 18, "滨江"), ("330110", 16, "余杭"), ("330106", 12, "西湖"), ("330109", 10, "萧山"),
            ("330114", 8, "钱塘"), ("330102", 6, "上城"), ("330105", 6, "拱墅"), ("330113", 6, "临平"),
            ("330111", 4, "富阳"), ("330112", 4, "临安"), ("330122", 2, "桐庐"), ("330182", 2, "建德"),
            ("330127", 1, "淳安")]
ZHEJIANG = [("330200", 5, "宁波", "0574"), ("330300", 3, "温州", "0577"), ("330400", 3, "嘉兴", "0573"),
            ("330500", 2, "湖州", "0572"), ("330600", 3, "绍兴", "0575"), ("330700", 2, "金华", "0579"),
            ("330800", 1, "衢州", "0570"), ("330900", 1, "舟山", "0580"), ("331000", 2, "台州", "0576"),
            ("331100", 1, "丽水", "0578")]
ELSEWHERE = [("310100", 6, "上海", "021"), ("320500", 4, "苏州", "0512"), ("320100", 3, "南京", "025"),
             ("320200", 2, "无锡", "0510"), ("320400", 2, "常州", "0519"), ("340100", 3, "合肥", "0551"),
             ("340200", 1, "芜湖", "0553"), ("440300", 4, "深圳", "0755"), ("440100", 2, "广州", "020"),
             ("441900", 2, "东莞", "0769"), ("110100", 3, "北京", "010"), ("420100", 2, "武汉", "027"),
             ("510100", 2, "成都", "028"), ("610100", 2, "西安", "029"), ("430100", 1, "长沙", "0731"),
             ("370200", 1, "青岛", "0532"), ("370100", 1, "济南", "0531"), ("350200", 1, "厦门", "0592"),
             ("350100", 1, "福州", "0591"), ("120100", 1, "天津", "022"), ("500100", 1, "重庆", "023"),
             ("410100", 1, "郑州", "0371"), ("210100", 1, "沈阳", "024"), ("429004", 1, "仙桃", "0728")]
AREA_SHARE = (("hangzhou", 55), ("zhejiang", 20), ("elsewhere", 25))

# --- what they do ------------------------------------------------------------------------
CHAIN_WEIGHTS = {"ai": 36, "integrated_circuits": 9, "new_energy_vehicles": 9, "machine_tools": 8,
                 "pharma": 7, "medical_devices": 8, "industrial_software": 9, "servers": 6,
                 "industrial_robots": 8, "new_materials": 6}
SOFTWARE_NODES = {
    "ai": {"foundation_models", "multimodal_models", "industry_models", "ai_algorithms", "model_services",
           "open_source_models", "model_evaluation", "multimodal_datasets", "data_annotation", "data_elements",
           "data_security", "ai_agents", "ai_healthcare", "ai_city_services", "compute_brokerage",
           "intelligent_computing_centres", "ai_manufacturing"},
    "integrated_circuits": {"eda_ip", "chip_design"},
    "pharma": {"digital_health"},
    "medical_devices": {"smart_hospitals"},
    "servers": {"data_centres", "cloud_services", "edge_computing"},
    "new_energy_vehicles": {"intelligent_driving", "intelligent_cockpit"},
}
OTHER_INDUSTRY_NODES = {("pharma", "cro"): "other", ("pharma", "pharma_distribution"): "wholesale",
                        ("medical_devices", "testing_maintenance"): "other",
                        ("industrial_robots", "robot_services"): "other",
                        ("new_energy_vehicles", "aftermarket_services"): "leasing_business",
                        ("new_energy_vehicles", "charging_swapping"): "other"}
# Words after the trade name (字号): what the company says it is.
NAME_WORDS = {
    "ai": ["智能科技", "人工智能科技", "信息技术", "科技", "数据科技", "网络科技"],
    "integrated_circuits": ["半导体", "微电子", "集成电路", "电子科技"],
    "new_energy_vehicles": ["新能源科技", "汽车零部件", "动力科技", "汽车电子"],
    "machine_tools": ["数控机床", "精密机械", "智能装备", "机械制造"],
    "pharma": ["生物医药", "医药科技", "药业", "生物科技"],
    "medical_devices": ["医疗器械", "医疗科技", "生物技术", "医学影像科技"],
    "industrial_software": ["软件", "信息技术", "数字科技", "工业互联网科技"],
    "servers": ["计算机", "电子科技", "数据科技", "信息技术"],
    "industrial_robots": ["机器人", "智能装备", "自动化科技", "传动科技"],
    "new_materials": ["新材料", "材料科技", "复合材料", "高分子材料"],
}
NODE_NAME_WORDS = {"embodied_intelligence": ["机器人科技", "具身智能科技"], "ai_healthcare": ["医疗科技"],
                   "high_performance_chips": ["芯片科技", "半导体"], "high_speed_optical_networks": ["光电科技", "光通信"],
                   "liquid_cooled_servers": ["液冷科技", "计算机"], "ai_terminals": ["智能终端", "电子科技"],
                   "power_batteries": ["电池", "新能源科技"], "charging_swapping": ["充电科技", "能源科技"],
                   "optical_modules": ["光电科技"], "data_centres": ["数据科技", "云计算"],
                   "humanoid_robots": ["机器人", "具身智能科技"], "graphene": ["石墨烯科技"],
                   "carbon_fibre_composites": ["碳纤维", "复合材料"], "cro": ["医药研发", "生物科技"],
                   "pharma_distribution": ["医药"], "in_vitro_diagnostics": ["生物技术", "诊断技术"]}
TRADE_FIRST = list("智算芯数灵深云启元衡极光澜曜星言瀚睿图格弈锐思拓鲸麦禾青朗川驰磐砺远航泓卓")
TRADE_SECOND = list("瞳擎界链途核源维达策鉴沐舟澈衍见微峰跃迈阶矩序合行格铠")
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏沈钟汪")
GIVEN = ["伟", "芳", "敏", "静", "磊", "洋", "婷", "杰", "强", "军", "丽", "涛", "明", "超", "勇", "艳",
         "浩然", "思远", "子涵", "雨萱", "一鸣", "嘉怡", "文博", "佳琪", "俊杰", "梓轩", "晓东", "海燕",
         "建国", "志强", "立新", "雪梅", "宇航", "欣怡", "天宇", "晨曦"]

STAGES = {  # weight, employees, revenue per employee (万元), founded years
    "seed": (8, (3, 25), (0, 12), (2023, 2025)),
    "startup": (22, (10, 80), (8, 40), (2019, 2024)),
    "growth": (35, (30, 250), (30, 90), (2014, 2021)),
    "expansion": (22, (80, 520), (45, 110), (2009, 2018)),
    "mature": (13, (150, 880), (50, 120), (2002, 2014)),
}
EMPLOYEE_CAP = {"software_it": 290, "wholesale": 180, "other": 280, "leasing_business": 280}
REVENUE_CAP_WAN = 38_000  # well under the manufacturing SME ceiling of 4 亿元

TYPE_WEIGHTS = {"seed": {"equity": 50, "loan": 30, "guarantee": 10, "insurance": 10},
                "startup": {"equity": 40, "loan": 35, "guarantee": 15, "insurance": 10},
                "growth": {"loan": 40, "equity": 25, "guarantee": 20, "insurance": 15},
                "expansion": {"loan": 45, "equity": 20, "guarantee": 15, "insurance": 20},
                "mature": {"loan": 50, "equity": 10, "guarantee": 20, "insurance": 20}}
ROUND = {"seed": "天使轮", "startup": "Pre-A/A轮", "growth": "B轮", "expansion": "C轮", "mature": "Pre-IPO轮"}
EQUITY_WAN = {"seed": (500, 1500), "startup": (1000, 5000), "growth": (3000, 8000),
              "expansion": (5000, 10000), "mature": (5000, 10000)}

# Loan purposes by chain: (text, term choices in months, collateral, applies to). "Applies to"
# names segments or leaf nodes of the chain; None means any enterprise of the chain.
LOAN_PURPOSES = {
    "ai": [("采购GPU服务器及液冷机柜，扩充智算集群", (36, 60), ["equipment"], {"intelligent_computing_centres", "compute_brokerage", "domestic_compute"}),
           ("高性能芯片流片及封装测试费用", (12, 24), ["credit", "ip"], {"high_performance_chips"}),
           ("高速光模块及光互连产品扩产", (24, 36), ["equipment", "receivables"], {"high_speed_optical_networks"}),
           ("液冷服务器生产线扩产", (36, 60), ["equipment"], {"liquid_cooled_servers", "domestic_compute"}),
           ("支付大模型训练所需智能算力租赁费用", (12, 24), ["credit", "ip"], {"models"}),
           ("模型评测、备案及安全对齐研发投入", (12,), ["credit"], {"models"}),
           ("多模态数据集采集、清洗与标注项目资金", (12,), ["credit"], {"data"}),
           ("数据合规与数据安全产品研发", (12, 24), ["credit", "ip"], {"data_security", "data_elements"}),
           ("智能体产品研发投入及市场推广", (12, 24), ["credit", "ip"], {"ai_agents", "model_services"}),
           ("具身智能样机试制及关节模组采购", (12, 24), ["credit", "equipment"], {"embodied_intelligence"}),
           ("AI终端产品量产备料", (6, 12), ["receivables"], {"ai_terminals"}),
           ("人工智能+制造解决方案项目交付垫资", (6, 12), ["receivables"], {"ai_manufacturing", "industry_models"}),
           ("行业大模型项目交付垫资", (6, 12), ["receivables"], {"industry_models", "ai_healthcare", "ai_city_services"})],
    "integrated_circuits": [("支付芯片流片及掩膜版费用", (12, 24), ["credit", "ip"], {"chip_design", "compound_semiconductors", "power_devices"}),
                            ("EDA工具研发及IP核授权推广", (12, 24), ["credit", "ip"], {"eda_ip"}),
                            ("购置晶圆测试及可靠性验证设备", (36, 60), ["equipment"], {"midstream"}),
                            ("封测产线扩产及原材料备货", (12, 36), ["equipment", "receivables"], {"packaging_testing"}),
                            ("半导体设备关键零部件国产化研发", (12, 24), ["credit", "ip"], {"semiconductor_equipment"}),
                            ("电子材料产线扩产", (36, 60), ["equipment", "real_estate"], {"wafers_substrates", "electronic_chemicals", "photoresists_masks"}),
                            ("模组及方案产品订单备货", (6, 12), ["receivables"], {"downstream"})],
    "new_energy_vehicles": [("动力电池模组产线技术改造", (36, 60), ["equipment", "real_estate"], {"power_batteries", "battery_management"}),
                            ("新车型配套零部件量产备料", (6, 12), ["receivables"], {"midstream"}),
                            ("锂电材料扩产项目", (36, 60), ["equipment", "real_estate"], {"upstream"}),
                            ("智能驾驶域控制器研发", (12, 24), ["credit", "ip"], {"intelligent_driving", "intelligent_cockpit"}),
                            ("充换电站建设及设备采购", (36, 60), ["equipment"], {"charging_swapping"}),
                            ("退役动力电池回收产线建设", (36, 60), ["equipment"], {"battery_recycling"}),
                            ("整车及零部件采购垫资", (6, 12), ["receivables"], {"vehicle_manufacturing", "aftermarket_services"})],
    "machine_tools": [("购置五轴联动加工中心用于精密零件加工", (36, 60), ["equipment"], {"midstream", "precision_machining"}),
                      ("数控系统新品研发及样机试制", (12, 24), ["credit", "ip"], {"cnc_systems"}),
                      ("新建精密主轴装配车间", (60, 96), ["real_estate"], {"spindles_ball_screws", "metal_cutting"}),
                      ("激光及增材制造装备量产备料", (6, 12), ["receivables"], {"special_machining", "additive_manufacturing"}),
                      ("铸件产线绿色化改造", (36, 60), ["equipment"], {"castings_structures"}),
                      ("刀具涂层产线扩产", (36, 60), ["equipment"], {"cutting_tools"}),
                      ("自动化产线集成项目垫资", (6, 12), ["receivables"], {"automation_lines", "remanufacturing"})],
    "pharma": [("原料药GMP车间升级改造", (36, 60), ["real_estate", "equipment"], {"apis_intermediates", "chemical_drugs"}),
               ("仿制药一致性评价研究费用", (12, 24), ["credit", "ip"], {"chemical_drugs"}),
               ("创新药临床试验费用", (12, 24), ["credit", "ip"], {"biologics", "cell_gene_therapy", "chemical_drugs"}),
               ("CDMO产能扩建", (36, 60), ["equipment", "real_estate"], {"cdmo", "cro", "excipients_packaging"}),
               ("中药配方颗粒生产线建设", (36, 60), ["equipment"], {"traditional_chinese_medicine"}),
               ("医药冷链仓储设施建设", (36, 60), ["real_estate"], {"pharma_distribution"}),
               ("互联网医院平台研发及运营", (12, 24), ["credit"], {"digital_health"}),
               ("补充流动资金，用于原辅料采购", (12,), ["credit", "receivables"], {"upstream", "midstream"})],
    "medical_devices": [("医疗器械注册检验及临床评价费用", (12, 24), ["credit", "ip"], {"midstream"}),
                        ("体外诊断试剂生产线扩产", (36, 60), ["equipment"], {"in_vitro_diagnostics"}),
                        ("医院订单备货及设备装机垫资", (6, 12), ["receivables"], {"midstream"}),
                        ("影像设备核心部件研发", (12, 24), ["credit", "ip"], {"core_components", "medical_imaging"}),
                        ("医用材料洁净车间建设", (36, 60), ["equipment", "real_estate"], {"medical_materials", "high_value_consumables"}),
                        ("第三方检测实验室设备购置", (36, 60), ["equipment"], {"testing_maintenance"}),
                        ("智慧医院项目实施垫资", (6, 12), ["receivables"], {"smart_hospitals"})],
    "industrial_software": [("工业软件产品研发及国产化适配", (12, 24), ["credit", "ip"], None),
                            ("MES项目实施垫资", (6, 12), ["receivables"], {"production_control", "industrial_internet", "digital_transformation_services", "industrial_apps"}),
                            ("首版次软件产品推广应用", (12,), ["credit"], None),
                            ("数据库内核研发及信创适配", (12, 24), ["credit", "ip"], {"basic_software"})],
    "servers": [("服务器主板SMT产线升级", (36, 60), ["equipment"], {"boards_pcb", "general_servers", "ai_servers"}),
                ("AI服务器整机订单备货", (6, 12), ["receivables"], {"midstream"}),
                ("数据中心机柜及供配电系统建设", (36, 60), ["equipment", "real_estate"], {"data_centres", "edge_computing"}),
                ("云平台扩容及带宽采购", (12, 24), ["credit", "receivables"], {"cloud_services"}),
                ("光模块扩产及芯片备货", (12, 24), ["receivables", "credit"], {"optical_modules"}),
                ("液冷散热模组产线扩产", (36, 60), ["equipment"], {"power_cooling"}),
                ("存储及加速卡产品研发与备货", (12, 24), ["credit", "receivables"], {"memory_storage_media", "processors_accelerators"})],
    "industrial_robots": [("精密减速器产线扩产", (36, 60), ["equipment"], {"precision_reducers"}),
                          ("人形机器人关节模组研发", (12, 24), ["credit", "ip"], {"humanoid_robots", "servo_systems"}),
                          ("伺服电机及驱动器扩产", (36, 60), ["equipment"], {"servo_systems", "controllers"}),
                          ("机器视觉产品研发", (12, 24), ["credit", "ip"], {"sensors_vision"}),
                          ("机器人本体产能扩建", (36, 60), ["equipment", "real_estate"], {"midstream"}),
                          ("自动化产线集成项目垫资", (6, 12), ["receivables"], {"downstream"})],
    "new_materials": [("碳纤维预浸料中试线建设", (36, 60), ["equipment"], {"carbon_fibre_composites"}),
                      ("石墨烯导热膜量产线建设", (36, 60), ["equipment"], {"graphene"}),
                      ("特种钢材热处理产线改造", (36, 60), ["equipment", "real_estate"], {"special_steel", "advanced_nonferrous"}),
                      ("新材料首批次应用验证及客户送样", (12,), ["credit", "ip"], None),
                      ("扩建高性能材料生产线", (36, 60), ["real_estate", "equipment"], None)],
}
GENERAL_LOAN_PURPOSES = [("补充流动资金，支付研发人员薪酬", (12,), ["credit"], None),
                         ("订单备货，采购原材料及外协加工", (6, 12), ["receivables"], None)]
# Insurance: (text, term choices, sum insured range in 万元, applies to)
INSURANCE_PURPOSES = {
    "ai": [("为新增算力设备投保财产综合险", (12,), (500, 5000), {"compute"}),
           ("研发费用损失保险，降低研发失败风险", (12,), (100, 1000), None),
           ("首版次软件质量安全责任保险", (12,), (100, 2000), {"models", "data", "ai_agents", "ai_manufacturing", "ai_city_services"}),
           ("首台（套）智能装备综合保险", (12, 24), (300, 3000), {"embodied_intelligence", "ai_terminals"})],
    "integrated_circuits": [("关键研发设备损失保险", (12,), (300, 3000), None), ("研发费用损失保险", (12,), (100, 1000), None)],
    "new_energy_vehicles": [("首台（套）装备质量及责任保险", (12, 24), (500, 5000), {"midstream", "charging_swapping"}),
                            ("出口产品质量责任保险", (12,), (200, 3000), None)],
    "machine_tools": [("首台（套）重大技术装备综合保险", (12, 24, 36), (500, 5000), None)],
    "pharma": [("临床试验责任保险", (12, 24), (200, 3000), {"midstream", "cro"}), ("研发费用损失保险", (12,), (100, 1000), None),
               ("产品质量责任保险", (12,), (100, 2000), {"downstream", "apis_intermediates", "excipients_packaging"})],
    "medical_devices": [("首台（套）医疗装备综合保险", (12, 24), (500, 5000), {"midstream"}),
                        ("临床试验责任保险", (12,), (100, 2000), {"midstream"}),
                        ("产品质量责任保险", (12,), (100, 2000), None)],
    "industrial_software": [("首版次软件质量安全责任保险", (12,), (100, 2000), None),
                            ("知识产权侵权责任保险", (12,), (100, 1000), None)],
    "servers": [("算力设备财产综合险", (12,), (500, 5000), {"downstream"}),
                ("首台（套）服务器产品质量保险", (12,), (300, 3000), {"midstream", "upstream"})],
    "industrial_robots": [("首台（套）机器人产品综合保险", (12, 24), (300, 3000), {"midstream", "upstream"}),
                          ("产品质量责任保险", (12,), (100, 2000), None)],
    "new_materials": [("新材料首批次应用保险", (12,), (200, 5000), None)],
}
GUARANTEE_PURPOSES = [("为银行流动资金贷款申请融资担保", (12,), ["credit"]),
                      ("为设备更新贷款提供担保增信", (24, 36), ["equipment"]),
                      ("为知识产权质押贷款提供担保", (12, 24), ["ip"]),
                      ("为订单融资申请担保，反担保以应收账款质押", (12,), ["receivables"]),
                      ("为中长期技改贷款申请担保，股东提供股权质押反担保", (36,), ["equity_pledge"])]

# A few hand-picked enterprises first, so that demo accounts and screenshots stay stable.
SHOWCASE = [
    {"name": "杭州智算云科技有限公司", "region": "330108", "chain": "ai",
     "nodes": ["intelligent_computing_centres", "compute_brokerage"], "stage": "growth", "industry": "software_it",
     "employees": 86, "revenue_wan": 6800, "assets_wan": 15200, "founded": 2019,
     "tiers": ["innovative_sme", "provincial_specialised", "high_tech", "tech_sme"],
     "description": "杭州智算云科技有限公司成立于2019年，运营面向中小企业的智算中心并提供算力调度与撮合服务，已接入“算力券”服务体系。",
     "needs": [("loan", 2000, 36, "采购高性能液冷服务器，扩容智算中心算力集群", ["equipment"]),
               ("equity", 6000, None, "B轮融资，建设面向大模型训练的算力调度平台", []),
               ("insurance", 3000, 12, "为新增算力设备投保财产综合险", [])]},
    {"name": "杭州灵境智能体科技有限公司", "region": "330106", "chain": "ai", "nodes": ["ai_agents"],
     "stage": "startup", "industry": "software_it", "employees": 32, "revenue_wan": 900, "assets_wan": 2600,
     "founded": 2023, "tiers": ["tech_sme"],
     "description": "杭州灵境智能体科技有限公司成立于2023年，基于已备案的基础大模型为制造和政务场景开发智能体应用。",
     "needs": [("equity", 1500, None, "Pre-A轮融资，用于智能体开发平台研发和团队扩充", []),
               ("loan", 300, 12, "支付大模型推理算力费用", ["credit"])]},
    {"name": "杭州芯瞳半导体有限公司", "region": "330110", "chain": "integrated_circuits", "nodes": ["chip_design"],
     "stage": "growth", "industry": "software_it", "employees": 120, "revenue_wan": 9200, "assets_wan": 21000,
     "founded": 2017, "tiers": ["innovative_sme", "provincial_specialised", "little_giant", "high_tech", "tech_sme"],
     "description": "杭州芯瞳半导体有限公司成立于2017年，专注于AI推理芯片和视觉处理芯片设计。",
     "needs": [("loan", 3000, 24, "支付7纳米推理芯片流片及掩膜版费用", ["credit", "ip"]),
               ("equity", 8000, None, "C轮融资，用于新一代AI推理芯片研发", [])]},
    {"name": "杭州具身未来机器人有限公司", "region": "330114", "chain": "industrial_robots",
     "nodes": ["humanoid_robots", "servo_systems"], "stage": "startup", "industry": "manufacturing",
     "employees": 58, "revenue_wan": 1200, "assets_wan": 5200, "founded": 2022, "tiers": ["tech_sme", "high_tech"],
     "description": "杭州具身未来机器人有限公司成立于2022年，研发人形机器人整机及一体化关节模组。",
     "needs": [("equity", 5000, None, "A轮融资，用于人形机器人量产线建设", []),
               ("loan", 800, 24, "关节模组试产线设备采购", ["equipment"]),
               ("insurance", 1000, 12, "首台（套）机器人产品综合保险", [])]},
    {"name": "杭州数衡多模态数据科技有限公司", "region": "330113", "chain": "ai",
     "nodes": ["multimodal_datasets", "data_annotation"], "stage": "growth", "industry": "software_it",
     "employees": 140, "revenue_wan": 5400, "assets_wan": 6100, "founded": 2018,
     "tiers": ["innovative_sme", "high_tech", "tech_sme"],
     "description": "杭州数衡多模态数据科技有限公司成立于2018年，提供多模态数据集建设、数据标注与数据合规服务。",
     "needs": [("loan", 1000, 12, "多模态数据集采集与标注项目垫资", ["receivables"]),
               ("guarantee", 500, 12, "为银行流动资金贷款申请融资担保", ["credit"])]},
]


def weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs)
    return rng.choices(items, weights=weights, k=1)[0]


def gb11714_check(body8: str) -> str:
    """Check character of a GB 11714 organisation code (8 characters + 1)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char, 36) * weight for char, weight in zip(body8, weights))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def organisation_code(rng: random.Random, founded: int) -> str:
    letters_and_digits = [c for c in ALPHABET if c != "X"]
    if founded >= 2016:  # codes issued with the unified credit code start "MA"
        body = "MA" + rng.choice("0123456789ABCDEFGH") + "".join(rng.choices(letters_and_digits, k=5))
    else:
        body = "".join(rng.choices("0123456789", k=8))
    return body + gb11714_check(body)


def credit_code(rng: random.Random, region: str, founded: int) -> str:
    return make_credit_code("91" + region + organisation_code(rng, founded))


def round_amount_wan(value: float) -> int:
    step = 10 if value < 500 else 50 if value < 2000 else 100 if value < 5000 else 500
    return int(max(step, round(value / step) * step))


def load_chains() -> dict:
    """{chain code: {leaf code: (leaf name, segment code)}} from chains.yaml."""
    data = yaml.safe_load((HERE / "chains.yaml").read_text(encoding="utf-8"))
    chains = {}
    for chain in data["chains"]:
        leaves = {}
        for node in chain["nodes"]:
            for child in node.get("children", []):
                leaves[child["code"]] = (child["name_zh"], node["code"])
        chains[chain["code"]] = leaves
    return chains


def applicable(entries, scope: set[str]):
    return [entry for entry in entries if entry[-1] is None or entry[-1] & scope]


def industry_of(chain: str, node: str) -> str:
    if (chain, node) in OTHER_INDUSTRY_NODES:
        return OTHER_INDUSTRY_NODES[(chain, node)]
    if chain == "industrial_software" or node in SOFTWARE_NODES.get(chain, ()):
        return "software_it"
    return "manufacturing"


def tiers_for(rng: random.Random, stage: str, industry: str) -> list[str]:
    p = {"seed": (0.7, 0.05, 0.0, 0.0, 0.0), "startup": (0.65, 0.3, 0.2, 0.05, 0.0),
         "growth": (0.55, 0.6, 0.5, 0.25, 0.05), "expansion": (0.4, 0.75, 0.6, 0.45, 0.15),
         "mature": (0.3, 0.75, 0.6, 0.5, 0.2)}[stage]
    tech_sme, high_tech, innovative, specialised, giant = p
    tiers = set()
    if rng.random() < tech_sme:
        tiers.add("tech_sme")
    if rng.random() < high_tech:
        tiers.add("high_tech")
    if rng.random() < giant:
        tiers |= {"little_giant", "provincial_specialised", "innovative_sme"}
    elif rng.random() < specialised:
        tiers |= {"provincial_specialised", "innovative_sme"}
    elif rng.random() < innovative:
        tiers.add("innovative_sme")
    if stage == "mature" and industry == "manufacturing":
        if rng.random() < 0.12:
            tiers.add("provincial_hidden_champion")
        if rng.random() < 0.03:
            tiers.add("single_champion")
    order = ["innovative_sme", "provincial_specialised", "little_giant", "single_champion",
             "provincial_hidden_champion", "high_tech", "tech_sme"]
    return [tier for tier in order if tier in tiers]


def loan_amount_wan(rng: random.Random, revenue_wan: int) -> int:
    base = max(revenue_wan, 300) * rng.uniform(0.08, 0.35)
    if base > 5000:
        base = rng.uniform(2000, 5000)
    return min(max(round_amount_wan(base), 50), 5000)


def make_needs(rng, chain, scope, stage, revenue_wan, tiers):
    count = weighted(rng, [(1, 30), (2, 45), (3, 25)])
    pool = dict(TYPE_WEIGHTS[stage])
    needs = []
    for _ in range(count):
        kind = weighted(rng, pool.items())
        del pool[kind]
        if kind == "loan":
            text, terms, collateral, _ = rng.choice(applicable(LOAN_PURPOSES[chain], scope) * 2
                                                    + GENERAL_LOAN_PURPOSES)
            collateral = list(collateral)
            if "credit" in collateral and tiers and rng.random() < 0.3 and "ip" not in collateral:
                collateral.append("ip")
            needs.append(("loan", loan_amount_wan(rng, revenue_wan), rng.choice(terms), text, collateral))
        elif kind == "equity":
            low, high = EQUITY_WAN[stage]
            amount = round_amount_wan(rng.uniform(low, high))
            focus = rng.choice(["核心技术研发和团队扩充", "产能建设和市场拓展", "新产品量产和渠道建设",
                                "研发中心建设和人才引进"])
            needs.append(("equity", amount, None, f"{ROUND[stage]}融资，用于{focus}", []))
        elif kind == "guarantee":
            text, terms, collateral = rng.choice(GUARANTEE_PURPOSES)
            base = max(revenue_wan, 400) * rng.uniform(0.05, 0.25)
            amount = min(max(round_amount_wan(base), 100), 3000)
            needs.append(("guarantee", amount, rng.choice(terms), text, list(collateral)))
        else:
            text, terms, (low, high), _ = rng.choice(applicable(INSURANCE_PURPOSES[chain], scope))
            amount = round_amount_wan(rng.uniform(low, high))
            needs.append(("insurance", amount, rng.choice(terms), text, []))
    return needs


def random_enterprise(rng, chains, used_names):
    area = weighted(rng, AREA_SHARE)
    if area == "hangzhou":
        region, _, _ = weighted(rng, [(row, row[1]) for row in HANGZHOU])
        prefix, phone_area = "杭州", "0571"
    else:
        table = ZHEJIANG if area == "zhejiang" else ELSEWHERE
        region, _, prefix, phone_area = weighted(rng, [(row, row[1]) for row in table])
    chain = weighted(rng, CHAIN_WEIGHTS.items())
    leaves = chains[chain]
    first = rng.choice(sorted(leaves))
    node_codes = [first]
    same_segment = sorted(code for code, (_, segment) in leaves.items()
                          if segment == leaves[first][1] and code != first)
    if same_segment and rng.random() < 0.3:  # a second link, next to the first
        node_codes.append(rng.choice(same_segment))
    scope = set(node_codes) | {leaves[code][1] for code in node_codes}
    industry = industry_of(chain, first)
    stage = weighted(rng, [(name, spec[0]) for name, spec in STAGES.items()])
    _, (emp_low, emp_high), (rev_low, rev_high), (year_low, year_high) = STAGES[stage]
    emp_high = min(emp_high, EMPLOYEE_CAP.get(industry, emp_high))
    employees = rng.randint(min(emp_low, emp_high // 2), emp_high)
    revenue_wan = round(employees * rng.uniform(rev_low, rev_high))
    if revenue_wan > REVENUE_CAP_WAN:
        revenue_wan = round(rng.uniform(0.6, 0.95) * REVENUE_CAP_WAN)
    founded = rng.randint(year_low, year_high)
    if stage == "seed":
        assets_wan = round(rng.uniform(200, 2000))
    else:
        assets_wan = round(revenue_wan * rng.uniform(0.6, 1.8)) + rng.randint(100, 800)
    tiers = tiers_for(rng, stage, industry)

    words = NODE_NAME_WORDS.get(node_codes[0]) or NAME_WORDS[chain]
    for _ in range(1000):
        trade = rng.choice(TRADE_FIRST) + rng.choice(TRADE_SECOND)
        if rng.random() < 0.15:
            trade += rng.choice(TRADE_SECOND)
        if len(set(trade)) < len(trade):
            continue
        suffix = "股份有限公司" if stage in ("expansion", "mature") and rng.random() < 0.35 else "有限公司"
        name = f"{prefix}{trade}{rng.choice(words)}{suffix}"
        if name not in used_names:
            break
    else:  # pragma: no cover - the pools are large enough
        raise RuntimeError("ran out of names")
    used_names.add(name)

    focus = "、".join(leaves[code][0] for code in node_codes)
    patents = rng.randint(0, 3) if stage == "seed" else rng.randint(2, 60)
    description = (f"{name}成立于{founded}年，主要从事{focus}相关产品和服务的研发、生产与销售，"
                   f"拥有授权专利及软件著作权{patents}项。")
    contact = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return {
        "name": name, "region": region, "chain": chain, "nodes": node_codes, "stage": stage,
        "industry": industry, "employees": employees, "revenue_wan": revenue_wan, "assets_wan": assets_wan,
        "founded": founded, "tiers": tiers, "description": description, "contact_name": contact,
        "contact_phone": f"{phone_area}-5550{rng.randint(0, 9999):04d}",
        "needs": make_needs(rng, chain, scope, stage, revenue_wan, tiers),
    }


def generate() -> dict:
    rng = random.Random(SEED)
    chains = load_chains()
    used_names, used_codes = set(), set()
    raw = []
    for showcase in SHOWCASE:
        entry = dict(showcase)
        entry.setdefault("contact_name", rng.choice(SURNAMES) + rng.choice(GIVEN))
        entry.setdefault("contact_phone", f"0571-5550{rng.randint(0, 9999):04d}")
        used_names.add(entry["name"])
        raw.append(entry)
    while len(raw) < COUNT:
        raw.append(random_enterprise(rng, chains, used_names))

    enterprises = []
    for entry in raw:
        for _ in range(100):
            code = credit_code(rng, entry["region"], entry["founded"])
            if code not in used_codes:
                break
        used_codes.add(code)
        assert is_valid_credit_code(code), code
        revenue = entry["revenue_wan"] * WAN
        assets = entry["assets_wan"] * WAN
        size = classify_size(entry["industry"], entry["employees"], revenue, assets)
        assert size is not None and size != SizeClass.LARGE, entry["name"]
        assert set(entry["nodes"]) <= set(chains[entry["chain"]]), entry["name"]
        needs, seen = [], set()
        for need_type, amount_wan, term, purpose, collateral in entry["needs"]:
            key = (need_type, amount_wan, purpose)
            assert key not in seen, (entry["name"], key)
            seen.add(key)
            needs.append({"type": need_type, "amount_yuan": amount_wan * WAN, "term_months": term,
                          "purpose": purpose, "collateral": collateral})
        enterprises.append({
            "credit_code": code, "name": entry["name"], "region": entry["region"], "chain": entry["chain"],
            "nodes": entry["nodes"], "stage": entry["stage"], "industry": entry["industry"],
            "employees": entry["employees"], "revenue_yuan": revenue, "total_assets_yuan": assets,
            "tiers": entry["tiers"], "description": entry["description"],
            "contact_name": entry["contact_name"], "contact_phone": entry["contact_phone"], "needs": needs,
        })
    return {"generator": "seeds/generate_demo_smes.py", "seed": SEED, "enterprises": enterprises}


def render(data: dict) -> str:
    # One enterprise per line: readable diffs without a 10,000-line file.
    lines = ['{"generator": %s, "seed": %d, "enterprises": [' % (json.dumps(data["generator"]), data["seed"])]
    rows = [json.dumps(e, ensure_ascii=False, separators=(", ", ": ")) for e in data["enterprises"]]
    lines.append(",\n".join(rows))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if demo_smes.json is not up to date")
    args = parser.parse_args(argv)
    text = render(generate())
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.name} is stale: run python -m seeds.generate_demo_smes", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(json.loads(text)['enterprises'])} enterprises)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
